"""Telling owners and admins that a broadcast stopped because of the number or the account."""

from django.conf import settings
from django.urls import reverse

from messaging.models import Broadcast
from organizations import audit
from organizations.credential_health import managers_email
from organizations.services import audit_record


def broadcast_paused_alert(*, broadcast_id: int) -> None:
    """One email to the owners and admins, and an audit event, for a broadcast paused by an
    error about the number or the account (sent once: only the pause itself calls it)."""
    broadcast = Broadcast.objects.select_related("organization").filter(pk=broadcast_id).first()
    if broadcast is None:
        return
    url = settings.SITE_URL.rstrip("/") + reverse("broadcast-detail", args=[broadcast.pk])
    managers_email(
        organization=broadcast.organization,
        subject=f"Broadcast paused: {broadcast.name}",
        body=(
            f'WhatsApp stopped the broadcast "{broadcast.name}" of '
            f"{broadcast.organization.name}.\n\n"
            f"{broadcast.pause_reason}\n\n"
            "Nobody else receives it until you resume it. Fix the cause in Meta's Business "
            f"Manager or in Settings, then press Resume:\n{url}\n"
        ),
    )
    audit_record(
        organization=broadcast.organization,
        actor=None,
        action=audit.BROADCAST_PAUSED,
        target=broadcast.name,
        metadata={"broadcast_id": broadcast.pk, "reason": broadcast.pause_code},
    )
