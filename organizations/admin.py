from allauth.mfa import admin as mfa_admin
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist import admin as token_blacklist_admin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from common.admin import ReadOnlyAdmin
from common.errors import ServiceError
from organizations import audit, services
from organizations.activity import describe
from organizations.models import AuditEvent, Invitation, Membership, Organization, Role, User
from organizations.request_context import client_ip


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    # Deleting a user ends their memberships: through the services, so an organization keeps
    # an owner and each removal is audited.
    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected.extend(self._ownerless_organizations(objs))
        return deleted, counts, perms_needed, protected

    @staticmethod
    def _ownerless_organizations(users) -> list[str]:
        """Why deleting `users` together would leave an organization without an owner: the
        selection is judged as a whole (two co-owners each pass alone, not together)."""
        user_ids = {user.pk for user in users}
        owners_by_organization = {}
        for membership in Membership.objects.filter(
            user_id__in=user_ids, role=Role.OWNER
        ).select_related("organization", "user"):
            owners_by_organization.setdefault(membership.organization, []).append(
                membership.user.email
            )
        reasons = []
        for organization, emails in owners_by_organization.items():
            others = Membership.objects.filter(organization=organization, role=Role.OWNER)
            if others.exclude(user_id__in=user_ids).exists():
                continue
            who = " and ".join(sorted(emails))
            verb = "is the only owner" if len(emails) == 1 else "are the only owners"
            reasons.append(
                f"{who} {verb} of {organization.name}: make someone else its owner first"
            )
        return reasons

    def delete_model(self, request, obj):
        self.delete_queryset(request, User.objects.filter(pk=obj.pk))

    def log_deletions(self, request, queryset):
        # Written by delete_queryset with the deletion, so a refused one leaves no log entry.
        return []

    def delete_queryset(self, request, queryset):
        users = list(queryset)
        try:
            with transaction.atomic():
                super().log_deletions(request, users)
                for user in users:
                    for membership in user.memberships.select_related("organization", "user"):
                        services.membership_remove_by_staff(
                            staff=request.user, membership=membership, ip=client_ip(request)
                        )
                super().delete_queryset(request, queryset)
        except ServiceError as exc:
            # The confirmation page refuses this; an owner change since then can still.
            request.user_deletion_refused = True
            self.message_user(request, f"Deleted no account: {exc.message}", messages.ERROR)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # Django reports success once delete_queryset returns, also when it refused.
        if level == messages.SUCCESS and getattr(request, "user_deletion_refused", False):
            return
        super().message_user(request, message, level, *args, **kwargs)


class MembershipInline(admin.TabularInline):
    """Read-only here: membership changes go through the Memberships page of the admin, which
    applies the same rules as the API (an organization keeps an owner; every change audited)."""

    model = Membership
    extra = 0
    fields = ["user", "role", "joined_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]


class MembershipAdminForm(forms.ModelForm):
    """Saves through the services: the rules are checked, the change is written and audited
    in one step, and a refusal (the last owner) shows as a form error."""

    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            if self.instance.pk is None:
                self.saved = services.membership_add_by_staff(
                    staff=self.request.user,
                    organization=self.cleaned_data["organization"],
                    user=self.cleaned_data["user"],
                    role=self.cleaned_data["role"],
                    ip=client_ip(self.request),
                )
            else:
                self.saved = services.membership_change_role_by_staff(
                    staff=self.request.user,
                    membership=Membership.objects.get(pk=self.instance.pk),
                    role=self.cleaned_data["role"],
                    ip=client_ip(self.request),
                )
        except ServiceError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipAdminForm
    list_display = ["user", "organization", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]
    actions = ["remove_selected"]

    def get_readonly_fields(self, request, obj=None):
        # Who and where are fixed once the membership exists: only the role changes.
        return ["user", "organization", "joined_at"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would bypass the services
        return actions

    def save_model(self, request, obj, form, change):
        # The service in the form already wrote (and audited) it; the admin only needs the row.
        obj.pk, obj.joined_at, obj.role = form.saved.pk, form.saved.joined_at, form.saved.role

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            membership = self.get_object(request, unquote(object_id))
            if membership is not None and self.has_delete_permission(request, membership):
                removed = self._remove(request, membership)
                url = "admin:organizations_membership_changelist"
                if not removed:
                    url = "admin:organizations_membership_change"
                    return redirect(reverse(url, args=[membership.pk]))
                return redirect(reverse(url))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description="Remove the selected members from their organizations")
    def remove_selected(self, request, queryset):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        for membership in queryset.select_related("user", "organization"):
            self._remove(request, membership)

    def _remove(self, request, membership: Membership) -> bool:
        label = f"{membership.user.email} from {membership.organization.name}"
        try:
            with transaction.atomic():  # the admin's log entry goes only with the removal
                self.log_deletions(request, [membership])
                services.membership_remove_by_staff(
                    staff=request.user, membership=membership, ip=client_ip(request)
                )
        except ServiceError as exc:
            self.message_user(request, f"Did not remove {label}: {exc.message}", messages.ERROR)
            return False
        self.message_user(request, f"Removed {label}.", messages.SUCCESS)
        return True


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "token_display", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__name"]
    # The token is stored only as a hash; the admin shows its last characters.
    fields = [
        "organization",
        "email",
        "role",
        "token_display",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
    ]
    readonly_fields = fields

    @admin.display(description="Token")
    def token_display(self, obj):
        return f"…{obj.token_hint}" if obj.token_hint else "—"

    def has_add_permission(self, request):
        # Invitations are created by members (they need the email to go out with a token).
        return False


class AuditActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return list(audit.ACTION_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "what_happened", "ip"]
    list_filter = [AuditActionFilter]
    search_fields = ["action", "target", "organization__name", "actor__email"]
    readonly_fields = [
        "what_happened",
        "organization",
        "actor",
        "action",
        "target",
        "ip",
        "created_at",
        "metadata",
    ]
    list_select_related = ["organization", "actor"]

    @admin.display(description="What happened")
    def what_happened(self, obj):
        return describe(obj)


# --- tokens and second factors: never shown whole -------------------------------------------


def _token_hint(value: str) -> str:
    return f"…{value[-6:]}" if value else "—"


admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(token_blacklist_admin.OutstandingTokenAdmin):
    """simplejwt's, without the token itself: a refresh token shown whole could be used."""

    fields = ["jti", "user", "token_display", "created_at", "expires_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="Token")
    def token_display(self, obj):
        return _token_hint(obj.token)


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(token_blacklist_admin.BlacklistedTokenAdmin):
    """simplejwt's, read-only, and its token shown by its last characters only."""

    fields = ["token_jti", "token_user", "token_display", "blacklisted_at"]
    readonly_fields = fields

    @admin.display(description="Token")
    def token_display(self, obj):
        return _token_hint(obj.token.token)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(mfa_admin.AuthenticatorAdmin):
    """allauth.mfa's, without `data` (the authenticator app's secret, the recovery codes'
    seed, a passkey's credential). Staff may delete one to let a user who lost it back in."""

    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
