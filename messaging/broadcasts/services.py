"""Writes for broadcasts: create (recipients fixed and checked once, skipped ones with the
reason), cancel, resume, and the delivery statuses the webhook reports."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from common.errors import NotAllowed, ServiceError
from messaging.broadcasts.selectors import broadcast_audience
from messaging.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Contact,
    RecipientStatus,
)
from messaging.selectors import template_named
from messaging.services import template_values_check, template_values_for_contact
from organizations import audit
from organizations.models import MANAGER_ROLES, Membership
from organizations.services import audit_record
from plans.services import broadcast_recipients_release, broadcast_recipients_reserve
from whatsapp import events
from whatsapp.selectors import whatsapp_config_for

NAME_MAX = 200
# The furthest ahead a broadcast may be scheduled.
SCHEDULE_MAX_DAYS = 365
# Webhook statuses in the order they may follow each other; `failed` from any state.
RECIPIENT_RANK = {"sent": 1, "delivered": 2, "read": 3}


def _require_manager(membership: Membership) -> None:
    if membership.role not in MANAGER_ROLES:
        raise NotAllowed("Only owners and admins can send broadcasts.")


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("Give the broadcast a name.", field="name")
    name = name.strip()
    if len(name) > NAME_MAX or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise ServiceError(
            f"The name must be one line of at most {NAME_MAX} characters.", field="name"
        )
    return name


def _clean_schedule(scheduled_at: datetime | None) -> datetime | None:
    if scheduled_at is None:
        return None
    now = timezone.now()
    if scheduled_at <= now:
        return None  # a time already past means "now"
    if (scheduled_at - now).days > SCHEDULE_MAX_DAYS:
        raise ServiceError(
            f"A broadcast can be scheduled at most {SCHEDULE_MAX_DAYS} days ahead.",
            field="scheduled_at",
        )
    return scheduled_at


# Someone with every contact field filled in, to check the values before anyone is sent to.
SAMPLE_CONTACT = Contact(name="Sample Person", phone="+15550000000")


def _variables_for_check(variables):
    """The variables as Meta will see them for a person with every field, so a fixed value
    that breaks Meta's rules is refused now, not once per person."""
    return template_values_for_contact(variables, SAMPLE_CONTACT)


@transaction.atomic
def broadcast_create(
    *,
    membership: Membership,
    name: str,
    template_name: str,
    template_language: str,
    variables=None,
    group_ids=(),
    contact_ids=(),
    scheduled_at: datetime | None = None,
    ip: str | None = None,
) -> Broadcast:
    """Creates a broadcast of an approved template to the contacts of these groups and these
    contacts (each person once). Who may not receive it is recorded as skipped with the reason.
    Queued now, or scheduled (the minute tick starts it); the task engine sends it.
    Raises ServiceError / NotAllowed."""
    _require_manager(membership)
    organization = membership.organization
    name = _clean_name(name)
    if whatsapp_config_for(organization) is None:
        raise ServiceError(
            "Connect your WhatsApp number in Settings before sending broadcasts.",
            code="not_configured",
        )
    template = template_named(organization, template_name, template_language)
    if template is None:
        raise ServiceError(
            "No such template: sync your templates and choose one of them.",
            field="template",
            code="template_not_found",
        )
    if not template.sendable:
        raise ServiceError(
            template.unsupported_reason
            or f"This template cannot be sent: {template.status_words.lower()}.",
            field="template",
            code="template_not_approved",
        )
    if variables is None:
        variables = {} if template.is_named else []
    template_values_check(template, _variables_for_check(variables))
    audience = broadcast_audience(
        organization=organization,
        group_ids=group_ids,
        contact_ids=contact_ids,
        marketing=template.category == "MARKETING",
    )
    if not audience.entries:
        raise ServiceError(
            "Choose at least one group or contact with a WhatsApp number.", field="group_ids"
        )
    # The plan's monthly broadcast recipients (402 budget_exhausted when they do not fit).
    broadcast_recipients_reserve(organization=organization, count=audience.sendable_count)
    scheduled_at = _clean_schedule(scheduled_at)
    broadcast = Broadcast.objects.create(
        organization=organization,
        name=name,
        template_name=template.name,
        template_language=template.language,
        template_category=template.category,
        variables=variables,
        status=BroadcastStatus.SCHEDULED if scheduled_at else BroadcastStatus.QUEUED,
        scheduled_at=scheduled_at,
        created_by=membership.user,
        recipients_total=len(audience.entries),
    )
    BroadcastRecipient.objects.bulk_create(
        [
            BroadcastRecipient(
                broadcast=broadcast,
                contact=entry.contact,
                phone=entry.contact.phone,
                status=RecipientStatus.SKIPPED if entry.skip_code else RecipientStatus.QUEUED,
                error_code=entry.skip_code,
            )
            for entry in audience.entries
        ],
        batch_size=1000,
    )
    audit_record(
        organization=organization,
        actor=membership.user,
        action=audit.BROADCAST_CREATED,
        target=name,
        ip=ip,
        metadata={
            "broadcast_id": broadcast.pk,
            "template": template.name,
            "recipients": len(audience.entries),
            "skipped": len(audience.entries) - audience.sendable_count,
        },
    )
    if broadcast.status == BroadcastStatus.QUEUED:
        transaction.on_commit(lambda: _enqueue(broadcast.pk))
    return broadcast


def _enqueue(broadcast_id: int) -> None:
    from messaging import tasks

    tasks.send_broadcast(broadcast_id)


def _broadcast_for_manager(membership: Membership, broadcast_id) -> Broadcast:
    _require_manager(membership)
    broadcast = (
        Broadcast.objects.select_for_update()
        .filter(organization=membership.organization, pk=broadcast_id)
        .first()
    )
    if broadcast is None:
        raise ServiceError("No such broadcast.", code="not_found")
    return broadcast


@transaction.atomic
def broadcast_cancel(*, membership: Membership, broadcast_id, ip: str | None = None) -> Broadcast:
    """Stops a broadcast: nobody still waiting receives it. Whoever was already sent to stays
    sent. Cancelling a finished or cancelled broadcast changes nothing."""
    broadcast = _broadcast_for_manager(membership, broadcast_id)
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        return broadcast
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at"])
    not_sent = BroadcastRecipient.objects.filter(
        broadcast=broadcast, status=RecipientStatus.QUEUED
    ).update(status=RecipientStatus.CANCELLED)
    broadcast_recipients_release(organization=broadcast.organization, count=not_sent)
    audit_record(
        organization=broadcast.organization,
        actor=membership.user,
        action=audit.BROADCAST_CANCELLED,
        target=broadcast.name,
        ip=ip,
        metadata={"broadcast_id": broadcast.pk},
    )
    return broadcast


@transaction.atomic
def broadcast_resume(*, membership: Membership, broadcast_id, ip: str | None = None) -> Broadcast:
    """Sends a paused broadcast on (after someone fixed what paused it)."""
    broadcast = _broadcast_for_manager(membership, broadcast_id)
    if broadcast.status != BroadcastStatus.PAUSED:
        raise ServiceError("Only a paused broadcast can be resumed.", code="not_paused")
    broadcast.status = BroadcastStatus.QUEUED
    broadcast.resume_at = None
    broadcast.save(update_fields=["status", "resume_at"])
    audit_record(
        organization=broadcast.organization,
        actor=membership.user,
        action=audit.BROADCAST_RESUMED,
        target=broadcast.name,
        ip=ip,
        metadata={"broadcast_id": broadcast.pk},
    )
    transaction.on_commit(lambda: _enqueue(broadcast.pk))
    return broadcast


def broadcasts_due() -> list[int]:
    """Broadcasts to drive now (the minute tick): scheduled ones whose time came, paused ones
    whose pause ran out, and queued or sending ones that nobody holds (a consumer stopped)."""
    now = timezone.now()
    Broadcast.objects.filter(status=BroadcastStatus.SCHEDULED, scheduled_at__lte=now).update(
        status=BroadcastStatus.QUEUED
    )
    Broadcast.objects.filter(
        status=BroadcastStatus.PAUSED, resume_at__isnull=False, resume_at__lte=now
    ).update(status=BroadcastStatus.QUEUED, resume_at=None)
    free = Broadcast.objects.filter(
        status__in=[BroadcastStatus.QUEUED, BroadcastStatus.SENDING]
    ).exclude(lease_until__gte=now)
    return list(free.values_list("pk", flat=True))


def broadcast_recipient_status_apply(
    *, organization, message_id: str, status: str, error_code: int | None
) -> None:
    """A delivery status from the webhook moves the matching recipient forward (never back;
    `failed` from any state); unknown statuses are ignored."""
    if status != "failed" and status not in RECIPIENT_RANK:
        return
    with transaction.atomic():
        recipient = (
            BroadcastRecipient.objects.select_for_update()
            .filter(broadcast__organization=organization, message_id=message_id)
            .first()
        )
        if recipient is None:
            return
        if status == "failed":
            if recipient.status == RecipientStatus.FAILED:
                return
            recipient.status = RecipientStatus.FAILED
            recipient.meta_error_code = error_code
            recipient.error_code = _error_code_of(error_code)
        elif RECIPIENT_RANK[status] > RECIPIENT_RANK.get(recipient.status, 0):
            recipient.status = status
        else:
            return
        recipient.save(update_fields=["status", "meta_error_code", "error_code", "updated_at"])


def _error_code_of(meta_code: int | None) -> str:
    from whatsapp import graph

    meta_error = graph.meta_error_for(meta_code)
    return meta_error.error_code if meta_error else "delivery_failed"


def on_status_update(event: events.StatusUpdate) -> None:
    """Subscribed to the webhook's status events (MessagingConfig.ready)."""
    broadcast_recipient_status_apply(
        organization=event.organization,
        message_id=event.message_id,
        status=event.status,
        error_code=event.error_code,
    )
