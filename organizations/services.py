"""Writes for accounts, organizations, memberships, invitations and the audit trail."""

import logging
import secrets
from datetime import timedelta

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress, get_emailconfirmation_model
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from common.errors import NotAllowed, ServiceError
from common.validators import validate_single_line
from organizations import audit, selectors, throttles
from organizations.models import (
    MANAGER_ROLES,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
    hash_token,
    normalize_email,
)

logger = logging.getLogger(__name__)


class InvitationNotFound(ServiceError):
    status = 404


def audit_record(
    *,
    organization: Organization | None,
    actor: User | None,
    action: str,
    target: str = "",
    ip: str | None = None,
    metadata: dict | None = None,
) -> AuditEvent:
    """The one way to record an audit event. Callers pass metadata without secrets."""
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target=target[:255],
        ip=ip or None,
        metadata=metadata or {},
    )


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "organization"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _create_with_unique_slug(name: str, attempts: int = 5) -> Organization:
    # Two sign-ups with the same name can pick the same free slug at once: the loser retries.
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return Organization.objects.create(name=name, slug=_unique_slug(name))
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def organization_create(*, name: str, owner: User, ip: str | None = None) -> Organization:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Enter the organization's name.", field="organization_name")
    try:
        validate_single_line(name, label="The organization's name")
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], field="organization_name") from None
    # Each organization brings a fresh invitation allowance: bounded per user.
    throttles.organization_create_check(user_id=owner.pk)
    organization = _create_with_unique_slug(name)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    audit_record(
        organization=organization,
        actor=owner,
        action=audit.ORGANIZATION_CREATED,
        target=organization.slug,
        ip=ip,
    )
    return organization


def _validate_new_user(*, email: str, password: str) -> str:
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise ServiceError(
            "An account with this email already exists.", field="email", code="duplicate"
        )
    try:
        password_validation.validate_password(password, User(email=email))
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="password", code="weak_password") from None
    return email


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    organization_name: str | None = None,
    invitation_token: str | None = None,
    ip: str | None = None,
    send_verification: bool = True,
) -> tuple[User, Membership]:
    """Creates a user with a new organization (as owner) or through an invitation. A plain
    sign-up leaves the address unverified and emails its verification link (unless the caller
    sends it: allauth's sign-up page does)."""
    email = _validate_new_user(email=email, password=password)
    invitation = None
    if invitation_token:
        invitation = _pending_invitation_for_update(invitation_token)
        if normalize_email(invitation.email) != email:
            raise ServiceError(
                "This invitation was sent to another email address.",
                field="email",
                code="email_mismatch",
            )
    elif not (organization_name or "").strip():
        raise ServiceError("Enter the organization's name.", field="organization_name")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError:
        raise ServiceError(
            "An account with this email already exists.", field="email", code="duplicate"
        ) from None
    # The invitation came to this address: registering through it proves the address.
    address = account_email_setup(user=user, verified=invitation is not None)
    if send_verification and not address.verified:
        transaction.on_commit(lambda: address.send_confirmation(signup=True))
    if invitation is not None:
        membership = _invitation_accept(invitation=invitation, user=user, ip=ip)
    else:
        organization = organization_create(name=organization_name, owner=user, ip=ip)
        membership = Membership.objects.get(user=user, organization=organization)
    return user, membership


def account_email_setup(*, user: User, verified: bool) -> EmailAddress:
    """The allauth address record of the account's login email (the one primary address)."""
    address, _ = EmailAddress.objects.update_or_create(
        user=user,
        email=user.email,
        defaults={"primary": True, "verified": verified},
    )
    return address


def _verification_address(user: User) -> EmailAddress:
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    return address or account_email_setup(user=user, verified=False)


def email_verification_resend(*, user: User) -> None:
    """Sends the verification link again (allauth limits how often, per address)."""
    address = _verification_address(user)
    if address.verified:
        return
    from allauth.account.internal.flows.email_verification import (
        send_verification_email_to_address,
    )
    from allauth.core import context

    send_verification_email_to_address(context.request, address)


def email_verify(*, key: str, ip: str | None = None) -> EmailAddress:
    """Confirms an address with the key from the verification email's link."""
    from allauth.core import context

    confirmation = get_emailconfirmation_model().from_key(key or "")
    if confirmation is None or confirmation.key_expired():
        raise ServiceError(
            "This verification link is not valid or has expired. Ask for a new one.",
            field="key",
            code="invalid_key",
        )
    address = confirmation.email_address
    if address.verified:
        raise ServiceError(
            "This verification link has already been used.", field="key", code="used_key"
        )
    if confirmation.confirm(context.request) is None:
        raise ServiceError(
            "This address is already verified by another account.",
            field="key",
            code="invalid_key",
        )
    return address


class PasswordChangeLockedOut(ServiceError):
    """Too many wrong current passwords for this email from this client address: the failed-
    login lockout (organizations/lockout.py) refuses even the right one for a while."""

    status = 429

    def __init__(self):
        super().__init__("Too many failed attempts.", code="locked_out")


def password_change(
    *, user: User, old_password: str, new_password: str, request, ip: str | None = None
) -> User:
    """Changes the password. Every API token and browser session issued before it ends (the
    tokens carry a digest of the password; sessions carry Django's session hash).

    The current password is checked the way `POST /api/auth/token` checks one, through
    django.contrib.auth.authenticate (hence `request`): a wrong one counts as a failed login,
    so that a stolen access token cannot be used to guess it, and a locked-out email and
    address raise PasswordChangeLockedOut."""
    if authenticate(request, email=user.email, password=old_password) is None:
        if getattr(request, "axes_locked_out", False):
            raise PasswordChangeLockedOut()
        raise ServiceError(
            "Your current password is not correct.", field="old_password", code="wrong_password"
        )
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ServiceError(
            " ".join(exc.messages), field="new_password", code="weak_password"
        ) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        account_password_changed(user=user, ip=ip)
    login_lockout_reset(email=user.email, ip=ip)  # as a successful login does
    get_account_adapter().send_notification_mail("account/email/password_changed", user)
    return user


def account_password_changed(*, user: User, ip: str | None = None) -> None:
    audit_record(
        organization=None,
        actor=user,
        action=audit.ACCOUNT_PASSWORD_CHANGED,
        target=user.email,
        ip=ip,
    )


def account_password_reset_done(*, user: User, ip: str | None = None) -> None:
    """After a password reset through the emailed link: the link went to the account's own
    address (organizations/accounts.py), so that address is verified now; and the account's
    login lockout is lifted, from every client address."""
    address = _verification_address(user)
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    login_lockout_reset(email=user.email)
    audit_record(
        organization=None, actor=user, action=audit.ACCOUNT_PASSWORD_RESET, target=user.email, ip=ip
    )


def invitation_accept_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("invitation", args=[token])


def _check_may_invite(actor: Membership) -> None:
    if not actor.can_manage:
        raise NotAllowed("Only owners and admins can invite people.")
    if not selectors.email_verified(actor.user):
        raise NotAllowed(
            "Verify your email address before inviting people: follow the link in the "
            "verification email, or ask for a new one.",
            code="email_not_verified",
        )


def _new_invitation_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.token_hint = token[-4:]
    invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)
    return token


def _send_invitation_email(*, invitation: Invitation, inviter: User, token: str) -> None:
    organization = invitation.organization
    url = invitation_accept_url(token)
    # Names are shown as data, on lines of their own, never in the subject (no header tricks).
    name = " ".join(organization.name.split())
    # Sent after commit so a rolled-back invitation never reaches an inbox.
    transaction.on_commit(
        lambda: send_mail(
            subject="You are invited to join a church on Church Messaging",
            message=(
                f"{inviter.email} invited you to join {name} as {invitation.role}.\n\n"
                f"Accept the invitation: {url}\n\n"
                f"The link works once and expires in {settings.INVITATION_TTL_DAYS} days. "
                "If you did not expect this invitation, ignore this email."
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    )


@transaction.atomic
def invitation_create(
    *, actor: Membership, email: str, role: str, ip: str | None = None
) -> tuple[Invitation, str]:
    """Invites someone by email. Returns the invitation and its token (shown only once)."""
    _check_may_invite(actor)
    if role not in (Role.ADMIN, Role.MEMBER):
        raise ServiceError("Choose admin or member.", field="role")
    email = normalize_email(email)
    organization = actor.organization
    if Membership.objects.filter(organization=organization, user__email=email).exists():
        raise ServiceError("This person is already a member.", field="email", code="already_member")
    throttles.invitation_check(organization_id=organization.pk, user_id=actor.user_id)
    invitation = Invitation(
        organization=organization, email=email, role=role, invited_by=actor.user
    )
    token = _new_invitation_token(invitation)
    invitation.save()
    audit_record(
        organization=organization,
        actor=actor.user,
        action=audit.INVITATION_CREATED,
        target=email,
        ip=ip,
        metadata={"role": role, "invitation_id": invitation.pk},
    )
    _send_invitation_email(invitation=invitation, inviter=actor.user, token=token)
    return invitation, token


def _invitation_for_manager(actor: Membership, invitation_id) -> Invitation:
    if not actor.can_manage:
        raise NotAllowed("Only owners and admins can manage invitations.")
    invitation_id = str(invitation_id)
    invitation = None
    if invitation_id.isascii() and invitation_id.isdigit() and len(invitation_id) <= 18:
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(
                pk=invitation_id, organization_id=actor.organization_id, accepted_at__isnull=True
            )
            .first()
        )
    if invitation is None:
        raise InvitationNotFound("Invitation not found.", code="not_found")
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation_id, ip: str | None = None) -> None:
    """Withdraws a pending invitation: its link stops working at once."""
    invitation = _invitation_for_manager(actor, invitation_id)
    email, pk, role = invitation.email, invitation.pk, invitation.role
    invitation.delete()
    audit_record(
        organization=actor.organization,
        actor=actor.user,
        action=audit.INVITATION_REVOKED,
        target=email,
        ip=ip,
        metadata={"role": role, "invitation_id": pk},
    )


@transaction.atomic
def invitation_resend(
    *, actor: Membership, invitation_id, ip: str | None = None
) -> tuple[Invitation, str]:
    """Sends a pending invitation again with a new token (the old link stops working) and a
    new expiry; the one resending becomes its sender."""
    _check_may_invite(actor)
    invitation = _invitation_for_manager(actor, invitation_id)
    throttles.invitation_check(organization_id=actor.organization_id, user_id=actor.user_id)
    token = _new_invitation_token(invitation)
    invitation.invited_by = actor.user
    invitation.save(update_fields=["token_hash", "token_hint", "expires_at", "invited_by"])
    audit_record(
        organization=actor.organization,
        actor=actor.user,
        action=audit.INVITATION_RESENT,
        target=invitation.email,
        ip=ip,
        metadata={"role": invitation.role, "invitation_id": invitation.pk},
    )
    _send_invitation_email(invitation=invitation, inviter=actor.user, token=token)
    return invitation, token


def invitation_sender_may_invite(invitation: Invitation) -> bool:
    """An invitation speaks for its sender: it works only while they are still an owner or
    admin of the organization."""
    return (
        invitation.invited_by_id is not None
        and Membership.objects.filter(
            user_id=invitation.invited_by_id,
            organization_id=invitation.organization_id,
            role__in=MANAGER_ROLES,
        ).exists()
    )


def _revoke_invitations_sent_by(*, membership: Membership) -> int:
    """Called when someone stops being an owner or admin: their pending invitations go."""
    deleted, _ = Invitation.objects.filter(
        organization_id=membership.organization_id,
        invited_by_id=membership.user_id,
        accepted_at__isnull=True,
    ).delete()
    return deleted


def _pending_invitation_for_update(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if invitation is None:
        raise ServiceError(
            "This invitation link is not valid.", field="invitation_token", code="invalid_token"
        )
    if invitation.accepted_at is not None:
        raise ServiceError(
            "This invitation has already been used.", field="invitation_token", code="used_token"
        )
    if invitation.is_expired:
        raise ServiceError(
            "This invitation has expired. Ask for a new one.",
            field="invitation_token",
            code="expired_token",
        )
    if not invitation_sender_may_invite(invitation):
        raise ServiceError(
            "This invitation is no longer valid. Ask for a new one.",
            field="invitation_token",
            code="invalid_token",
        )
    return invitation


def _invitation_accept(*, invitation: Invitation, user: User, ip: str | None) -> Membership:
    if Membership.objects.filter(organization=invitation.organization, user=user).exists():
        raise ServiceError(
            "You are already a member of this organization.",
            field="invitation_token",
            code="already_member",
        )
    membership = Membership.objects.create(
        user=user, organization=invitation.organization, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        organization=invitation.organization,
        actor=user,
        action=audit.INVITATION_ACCEPTED,
        target=user.email,
        ip=ip,
        metadata={"role": invitation.role, "invitation_id": invitation.pk},
    )
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User, ip: str | None = None) -> Membership:
    """An existing user accepts an invitation sent to their email address."""
    invitation = _pending_invitation_for_update(token)
    if normalize_email(invitation.email) != normalize_email(user.email):
        raise ServiceError(
            "This invitation was sent to another email address.",
            field="token",
            code="email_mismatch",
        )
    return _invitation_accept(invitation=invitation, user=user, ip=ip)


def _lock_owners_and_reload(organization_id, *memberships: Membership) -> None:
    """Locks the organization's owners, so two concurrent demotions or removals cannot both
    pass the last-owner check, then re-reads the memberships: the roles checked are current."""
    list(
        Membership.objects.select_for_update().filter(
            organization_id=organization_id, role=Role.OWNER
        )
    )
    try:
        for membership in memberships:
            membership.refresh_from_db()
    except Membership.DoesNotExist:
        raise ServiceError("That membership no longer exists.", code="not_found") from None


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def _keeps_an_owner(membership: Membership, *, new_role: str | None) -> None:
    """Raises last_owner when `membership` is the organization's only owner and would stop
    being one (new_role None: removed). Call with the owners locked."""
    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    if _owner_count(membership.organization) <= 1:
        raise ServiceError(
            "An organization needs at least one owner. Make someone else an owner first.",
            field="role" if new_role else None,
            code="last_owner",
        )


def _validate_role(role: str) -> None:
    if role not in Role.values:
        raise ServiceError("Choose owner, admin or member.", field="role")


def _set_role(
    *, membership: Membership, role: str, actor: User, ip: str | None, via: dict
) -> Membership:
    """Changes a role the caller may change (owners locked): keeps an owner, withdraws the
    invitations of someone who may no longer invite, audits."""
    _keeps_an_owner(membership, new_role=role)
    previous = membership.role
    if previous != role:
        membership.role = role
        membership.save(update_fields=["role"])
        if not membership.can_manage:
            _revoke_invitations_sent_by(membership=membership)
        audit_record(
            organization=membership.organization,
            actor=actor,
            action=audit.MEMBERSHIP_ROLE_CHANGED,
            target=membership.user.email,
            ip=ip,
            metadata={"from": previous, "to": role, **via},
        )
    return membership


def _delete(*, membership: Membership, actor: User, action: str, ip: str | None, via: dict) -> None:
    """Removes a membership the caller may remove (owners locked): keeps an owner, withdraws
    their pending invitations, audits."""
    _keeps_an_owner(membership, new_role=None)
    email, role, organization = membership.user.email, membership.role, membership.organization
    _revoke_invitations_sent_by(membership=membership)
    membership.delete()
    audit_record(
        organization=organization,
        actor=actor,
        action=action,
        target=email,
        ip=ip,
        metadata={"role": role, **via},
    )


def _check_may_manage(actor: Membership, target: Membership) -> None:
    if target.organization_id != actor.organization_id:
        raise NotAllowed("That member belongs to another organization.")
    if actor.pk == target.pk:
        return
    if not actor.can_manage:
        raise NotAllowed("Only owners and admins can manage members.")
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed("Only an owner can change or remove an owner.")


@transaction.atomic
def membership_change_role(
    *, actor: Membership, membership: Membership, role: str, ip: str | None = None
) -> Membership:
    _validate_role(role)
    _lock_owners_and_reload(actor.organization_id, actor, membership)
    if actor.pk == membership.pk and not actor.can_manage:
        raise NotAllowed("Only owners and admins can change roles.")
    _check_may_manage(actor, membership)
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed("Only an owner can make someone an owner.")
    return _set_role(membership=membership, role=role, actor=actor.user, ip=ip, via={})


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership, ip: str | None = None) -> None:
    """Removes a member, or lets a member leave when actor is that member."""
    _lock_owners_and_reload(actor.organization_id, actor, membership)
    _check_may_manage(actor, membership)
    action = audit.MEMBERSHIP_LEFT if actor.pk == membership.pk else audit.MEMBERSHIP_REMOVED
    _delete(membership=membership, actor=actor.user, action=action, ip=ip, via={})


# -- Staff in the Django admin: the same rules (an organization keeps an owner), audited. -----
# Staff act from outside the organization, so they need no membership in it; the audit rows
# name them as the actor and say the change came from the admin.
_VIA_ADMIN = {"via": "admin"}


def _require_staff(staff: User) -> None:
    if not (staff.is_authenticated and staff.is_active and staff.is_staff):
        raise NotAllowed("Only staff can change memberships from the admin.")


@transaction.atomic
def membership_add_by_staff(
    *, staff: User, organization: Organization, user: User, role: str, ip: str | None = None
) -> Membership:
    _require_staff(staff)
    _validate_role(role)
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ServiceError(
            f"{user.email} is already a member of {organization.name}.",
            field="user",
            code="already_member",
        )
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    audit_record(
        organization=organization,
        actor=staff,
        action=audit.MEMBERSHIP_ADDED,
        target=user.email,
        ip=ip,
        metadata={"role": role, **_VIA_ADMIN},
    )
    return membership


@transaction.atomic
def membership_change_role_by_staff(
    *, staff: User, membership: Membership, role: str, ip: str | None = None
) -> Membership:
    _require_staff(staff)
    _validate_role(role)
    _lock_owners_and_reload(membership.organization_id, membership)
    return _set_role(membership=membership, role=role, actor=staff, ip=ip, via=_VIA_ADMIN)


@transaction.atomic
def membership_remove_by_staff(
    *, staff: User, membership: Membership, ip: str | None = None
) -> None:
    _require_staff(staff)
    _lock_owners_and_reload(membership.organization_id, membership)
    _delete(
        membership=membership,
        actor=staff,
        action=audit.MEMBERSHIP_REMOVED,
        ip=ip,
        via=_VIA_ADMIN,
    )


def login_lockout_reset(*, email: str, ip: str | None = None) -> int:
    """Forgets the failed logins recorded for `email` (from `ip` only, when given), which lifts
    its lockout. Returns how many records were removed. Called after a password reset (every
    address) and after a successful login (that address)."""
    email = normalize_email(email)
    if not email:
        return 0
    removed = axes_reset(username=email, ip=ip)
    if removed:
        logger.info("Failed-login records cleared for a user (%d)", removed)
    return removed
