"""Pages for accounts, organizations, members and activity. Thin: services do the work."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from common.errors import ServiceError
from organizations import selectors, services
from organizations.activity import describe
from organizations.forms import (
    InvitationForm,
    InvitedRegisterForm,
    MemberRoleForm,
    OrganizationForm,
    RegisterForm,
    apply_service_error,
)
from organizations.page_context import SESSION_KEY, membership_required
from organizations.request_context import client_ip

BACKEND = "django.contrib.auth.backends.ModelBackend"


@membership_required
def home(request):
    return render(request, "organizations/home.html", {"membership": request.membership})


@sensitive_post_parameters("password")
def register(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.user_register(**form.cleaned_data, ip=client_ip(request))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            login(request, user, backend=BACKEND)
            request.session[SESSION_KEY] = membership.organization.slug
            messages.success(request, f"Welcome! {membership.organization.name} is ready.")
            return redirect("home")
    return render(request, "registration/register.html", {"form": form})


@login_required
def organization_new(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                name=form.cleaned_data["name"], owner=request.user, ip=client_ip(request)
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            request.session[SESSION_KEY] = organization.slug
            messages.success(request, f"{organization.name} is ready.")
            return redirect("home")
    return render(request, "organizations/organization_new.html", {"form": form})


@login_required
@require_POST
def organization_switch(request):
    slug = request.POST.get("organization", "")
    membership = (
        selectors.memberships_for_user(request.user).filter(organization__slug=slug).first()
    )
    if membership is None:
        raise Http404("Organization not found.")
    request.session[SESSION_KEY] = membership.organization.slug
    return redirect(request.POST.get("next") if _is_local(request.POST.get("next")) else "home")


def _is_local(url: str | None) -> bool:
    return bool(url) and url.startswith("/") and not url.startswith("//") and "\\" not in url


@sensitive_post_parameters("password")
def invitation(request, token):
    """A new user registers through the invitation; a logged-in one accepts it."""
    invitation = selectors.invitation_by_token(token)
    context = {"invitation": invitation, "token": token}
    if invitation is None or not invitation.is_pending:
        return render(request, "organizations/invitation_invalid.html", context, status=404)

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(
                    token=token, user=request.user, ip=client_ip(request)
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
                return redirect("invitation", token=token)
            request.session[SESSION_KEY] = membership.organization.slug
            messages.success(request, f"You joined {membership.organization.name}.")
            return redirect("home")
        return render(request, "organizations/invitation_accept.html", context)

    form = InvitedRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.user_register(
                email=invitation.email,
                password=form.cleaned_data["password"],
                invitation_token=token,
                ip=client_ip(request),
            )
        except ServiceError as exc:
            if exc.code == "duplicate":
                exc.message = "You already have an account: log in to accept the invitation."
            apply_service_error(form, exc)
        else:
            login(request, user, backend=BACKEND)
            request.session[SESSION_KEY] = membership.organization.slug
            messages.success(request, f"Welcome to {membership.organization.name}!")
            return redirect("home")
    context["form"] = form
    return render(request, "organizations/invitation_register.html", context)


@membership_required
def members(request):
    membership = request.membership
    invite_form = InvitationForm()
    if request.method == "POST":
        if not membership.can_manage:
            messages.error(request, "Only owners and admins can invite people.")
            return redirect("members")
        invite_form = InvitationForm(request.POST)
        if invite_form.is_valid():
            try:
                _, token = services.invitation_create(
                    actor=membership, ip=client_ip(request), **invite_form.cleaned_data
                )
            except ServiceError as exc:
                apply_service_error(invite_form, exc)
            else:
                # Shown once, so the link can be shared even where email is not set up yet.
                messages.success(
                    request,
                    f"Invitation sent to {invite_form.cleaned_data['email']}. You can also "
                    f"share this link with them: {services.invitation_accept_url(token)}",
                )
                return redirect("members")
    context = {
        "membership": membership,
        "members": selectors.organization_members(membership=membership),
        "invitations": selectors.organization_pending_invitations(membership=membership)
        if membership.can_manage
        else [],
        "invite_form": invite_form,
        "role_choices": MemberRoleForm.base_fields["role"].choices,
    }
    return render(request, "organizations/members.html", context)


@membership_required
@require_POST
def member_change_role(request, member_id):
    target = selectors.organization_member(membership=request.membership, member_id=member_id)
    if target is None:
        raise Http404("Member not found.")
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, admin or member.")
        return redirect("members")
    try:
        services.membership_change_role(
            actor=request.membership,
            membership=target,
            role=form.cleaned_data["role"],
            ip=client_ip(request),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{target.user.email} is now {form.cleaned_data['role']}.")
    return redirect("members")


@membership_required
@require_POST
def member_remove(request, member_id):
    target = selectors.organization_member(membership=request.membership, member_id=member_id)
    if target is None:
        raise Http404("Member not found.")
    leaving = target.pk == request.membership.pk
    try:
        services.membership_remove(
            actor=request.membership, membership=target, ip=client_ip(request)
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("members")
    if leaving:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You left {target.organization.name}.")
        return redirect("home")
    messages.success(request, f"{target.user.email} was removed.")
    return redirect("members")


@membership_required(manager=True)
def activity(request):
    events = selectors.organization_activity(membership=request.membership)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    entries = [(event, describe(event)) for event in page]
    return render(request, "organizations/activity.html", {"page": page, "entries": entries})
