"""Reads for organizations. Every query that returns organization data is scoped by a membership."""

from django.db.models import QuerySet
from django.utils import timezone

from common.errors import ServiceError
from organizations.models import AuditEvent, Invitation, Membership, User, hash_token


class OrganizationChoiceError(ServiceError):
    """The request did not name an organization the user may act for."""

    def __init__(self, message: str, *, status: int, code: str):
        super().__init__(message, code=code)
        self.status = status


def email_verified(user: User) -> bool:
    """The address the account logs in with is verified (allauth's record of it)."""
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def mfa_enabled(user: User) -> bool:
    """Two-factor sign-in is on (an authenticator app or a passkey)."""
    from allauth.mfa.adapter import get_adapter

    return get_adapter().is_mfa_enabled(user)


def memberships_for_user(user: User, *, related: tuple[str, ...] = ()) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("organization", *related)
        .order_by("organization__name", "organization_id")
    )


def membership_for_slug(
    *, user: User, slug: str | None, related: tuple[str, ...] = ()
) -> Membership:
    """The membership a request acts through.

    With a slug: that organization, or 404 when the user is not a member (no hint that it
    exists). Without: the only membership; 400 naming the header when there are several;
    403 when there are none."""
    if slug:
        membership = (
            memberships_for_user(user, related=related).filter(organization__slug=slug).first()
        )
        if membership is None:
            raise OrganizationChoiceError(
                "Organization not found.", status=404, code="organization_not_found"
            )
        return membership
    memberships = list(memberships_for_user(user, related=related)[:2])
    if not memberships:
        raise OrganizationChoiceError(
            "You are not a member of any organization.", status=403, code="no_organization"
        )
    if len(memberships) > 1:
        raise OrganizationChoiceError(
            "You belong to several organizations: send the X-Organization header "
            "with the slug of the one to act for.",
            status=400,
            code="organization_required",
        )
    return memberships[0]


def organization_members(*, membership: Membership) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization_id=membership.organization_id)
        .select_related("user")
        .order_by("joined_at", "id")
    )


def organization_member(*, membership: Membership, member_id) -> Membership | None:
    member_id = str(member_id)
    if not (member_id.isascii() and member_id.isdigit() and len(member_id) <= 18):
        return None
    return organization_members(membership=membership).filter(pk=member_id).first()


def organization_pending_invitations(*, membership: Membership) -> QuerySet[Invitation]:
    """Invitations whose link still works: not accepted and not expired (a withdrawn one is
    deleted). An expired one is left out, since its token is refused anyway."""
    return (
        Invitation.objects.filter(
            organization_id=membership.organization_id,
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def organization_activity(*, membership: Membership) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization_id=membership.organization_id).select_related(
        "actor"
    )


def invitation_by_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
