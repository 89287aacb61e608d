"""Superusers set an organization's plan and budgets in the Organization form (through the
plans service, audited), read the usage ledger, and export a month as CSV."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import path

from common.labels import AI_PROVIDER, label_for
from organizations.admin import OrganizationAdmin
from organizations.models import Organization
from organizations.request_context import client_ip
from plans import services
from plans.api import usage_csv_response
from plans.models import AIUsage, UsageCounter, WhatsAppUsage
from plans.serializers import parse_month

PLAN_FIELDSET = (
    "Plan and monthly budgets",
    {
        "fields": services.PLAN_FIELDS,
        "description": (
            "Empty budget = no cap. The own-key budget is also set by the organization's "
            "owners; the platform-key budget only here. Changes are audited."
        ),
    },
)


admin.site.unregister(Organization)


@admin.register(Organization)
class PlanOrganizationAdmin(OrganizationAdmin):
    list_display = [*OrganizationAdmin.list_display, "plan"]
    list_filter = ["plan"]
    fieldsets = ((None, {"fields": ("name", "slug", "created_at")}), PLAN_FIELDSET)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += services.PLAN_FIELDS
        return readonly

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name]
            for name in services.PLAN_FIELDS
            if name in form.changed_data
        }
        # The plan fields change only through the service (checked, audited); the rest of
        # the form saves as usual.
        for name in changes:
            field = Organization._meta.get_field(name)
            setattr(obj, name, form.initial.get(name) if change else field.get_default())
        super().save_model(request, obj, form, change)
        if changes:
            try:
                services.organization_plan_update(
                    organization=obj, actor=request.user, changes=changes, ip=client_ip(request)
                )
            except services.ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProviderFilter(admin.SimpleListFilter):
    """The providers in the ledger, by the names the pages use."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        slugs = AIUsage.objects.order_by().values_list("provider", flat=True).distinct()
        return sorted(((slug, label_for(AI_PROVIDER, slug)) for slug in slugs), key=lambda c: c[1])

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


@admin.register(AIUsage)
class AIUsageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "purpose",
        "credential",
        "provider_name",
        "model",
        "ok",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    ]
    list_filter = ["credential", "purpose", ProviderFilter, "ok"]
    search_fields = ["organization__name", "organization__slug", "model"]
    date_hierarchy = "created_at"
    change_list_template = "admin/plans/aiusage/change_list.html"

    @admin.display(description="provider", ordering="provider")
    def provider_name(self, usage):
        return label_for(AI_PROVIDER, usage.provider)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="plans_usage_export"), *super().get_urls()]

    def export_view(self, request):
        """Every organization's usage of ?month=YYYY-MM as CSV (superusers)."""
        if not request.user.is_superuser:
            raise PermissionDenied
        month = parse_month(request.GET.get("month")) or services.month_start()
        return usage_csv_response(month)


@admin.register(WhatsAppUsage)
class WhatsAppUsageAdmin(ReadOnlyAdmin):
    list_display = [
        "sent_at",
        "organization",
        "message_id",
        "delivered_at",
        "pricing_category",
        "billable",
    ]
    list_filter = ["pricing_category", "billable"]
    search_fields = ["organization__name", "message_id"]


@admin.register(UsageCounter)
class UsageCounterAdmin(ReadOnlyAdmin):
    list_display = ["organization", "month", "budget", "cost_usd", "tokens", "recipients"]
    list_filter = ["budget", "month"]
    search_fields = ["organization__name"]
