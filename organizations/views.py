"""Pages for accounts, organizations, members and activity. Thin: services do the work."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from common.errors import NotAllowed, ServiceError
from organizations import selectors, services, throttles
from organizations.activity import describe
from organizations.forms import (
    InvitationForm,
    InvitedRegisterForm,
    MemberRoleForm,
    OrganizationForm,
    apply_service_error,
)
from organizations.page_context import SESSION_KEY, membership_required
from organizations.request_context import client_ip

BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


def rate_limited(view, check):
    """A page whose POSTs count against a limit. Beyond it `check` raises RateLimited, which
    common.middleware.RetryLaterMiddleware answers with a 429 page and Retry-After."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            check(request)
        return view(request, *args, **kwargs)

    return wrapper


@membership_required
def home(request):
    return render(request, "organizations/home.html", {"membership": request.membership})


@login_required
@require_POST
def verification_resend(request):
    services.email_verification_resend(user=request.user)
    if not selectors.email_verified(request.user):
        messages.info(
            request,
            f"We sent a verification link to {request.user.email}. It can take a few minutes; "
            "check your spam folder too.",
        )
    next_url = request.POST.get("next")
    return redirect(next_url if _is_local(next_url) else "home")


@login_required
def organization_new(request):
    form = OrganizationForm(request.POST or None)
    status, retry_after = (400 if request.method == "POST" else 200), None
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                name=form.cleaned_data["name"], owner=request.user, ip=client_ip(request)
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
            # ORGANIZATION_CREATE_RATE used up (429), or the cache down (503): beside the form.
            retry_after = getattr(exc, "retry_after", None)
            status = exc.status if retry_after else status
        else:
            request.session[SESSION_KEY] = organization.slug
            messages.success(request, f"{organization.name} is ready.")
            return redirect("home")
    response = render(request, "organizations/organization_new.html", {"form": form}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


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
    if (
        invitation is None
        or not invitation.is_pending
        or not services.invitation_sender_may_invite(invitation)
    ):
        context["invitation"] = None
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

    if request.method == "POST":
        throttles.signup_check(request)
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
                _show_invitation_link(request, invite_form.cleaned_data["email"], token)
                return redirect("members")
    email_verified = selectors.email_verified(request.user)
    context = {
        "membership": membership,
        "members": selectors.organization_members(membership=membership),
        "invitations": selectors.organization_pending_invitations(membership=membership)
        if membership.can_manage
        else [],
        "invite_form": invite_form,
        "role_choices": MemberRoleForm.base_fields["role"].choices,
        "email_verified": email_verified,
    }
    response = render(request, "organizations/members.html", context)
    # The page can show an invitation link (a token) once: never kept by a cache.
    add_never_cache_headers(response)
    return response


def _show_invitation_link(request, email: str, token: str) -> None:
    # Shown once, so the link can be shared even where email is not set up yet.
    messages.success(
        request,
        f"Invitation sent to {email}. You can also share this link with them: "
        f"{services.invitation_accept_url(token)}",
    )


@membership_required
@require_POST
def invitation_revoke(request, invitation_id):
    try:
        services.invitation_revoke(
            actor=request.membership, invitation_id=invitation_id, ip=client_ip(request)
        )
    except services.InvitationNotFound:
        raise Http404("Invitation not found.") from None
    except NotAllowed as exc:
        if exc.code != "email_not_verified":
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The invitation was withdrawn: its link no longer works.")
    return redirect("members")


@membership_required
@require_POST
def invitation_resend(request, invitation_id):
    try:
        invitation, token = services.invitation_resend(
            actor=request.membership, invitation_id=invitation_id, ip=client_ip(request)
        )
    except services.InvitationNotFound:
        raise Http404("Invitation not found.") from None
    except NotAllowed as exc:
        if exc.code != "email_not_verified":
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        _show_invitation_link(request, invitation.email, token)
    return redirect("members")


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
