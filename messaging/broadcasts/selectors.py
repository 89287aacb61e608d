"""Reads for broadcasts: who a broadcast would reach and who it skips (and why), the
organization's broadcasts, their progress counts and their recipients."""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from messaging.contacts.selectors import contact_marketing_eligibility
from messaging.models import Broadcast, BroadcastRecipient, Contact, RecipientStatus
from organizations.models import Organization

SKIP_REASONS = {
    "opted_out": "Opted out",
    "no_consent": "No consent recorded",
    "us_number": (
        "Marketing template to a United States number (+1), which WhatsApp does not deliver"
    ),
}


# Why a recipient was not sent to, in words (skips, the engine's own codes, Meta's errors).
RECIPIENT_REASONS = {
    **SKIP_REASONS,
    "cut_off": "The send was cut off midway; WhatsApp may have it, so it is not sent again",
    "timeout": "WhatsApp did not answer in time; not sent again in case it arrived",
    "invalid_response": "WhatsApp's answer could not be read; not sent again in case it arrived",
    "delivery_failed": "WhatsApp could not deliver it",
    "contact_deleted": "The contact was deleted before the broadcast reached them",
}


def recipient_reason(code: str) -> str:
    """The reason behind a recipient's error code, in words."""
    from whatsapp.graph import GRAPH_ERROR_MESSAGES

    if not code:
        return ""
    return RECIPIENT_REASONS.get(code) or GRAPH_ERROR_MESSAGES.get(code) or code


@dataclass
class AudienceEntry:
    contact: Contact
    skip_code: str = ""


@dataclass
class Audience:
    entries: list[AudienceEntry] = field(default_factory=list)

    @property
    def sendable_count(self) -> int:
        return sum(1 for entry in self.entries if not entry.skip_code)

    @property
    def skipped(self) -> dict[str, int]:
        """How many are skipped, by reason code."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            if entry.skip_code:
                counts[entry.skip_code] = counts.get(entry.skip_code, 0) + 1
        return counts


def _ids(values) -> list[int]:
    ids = []
    for value in values or ():
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def recipient_skip_code(contact: Contact | None, *, marketing: bool) -> str:
    """Why this contact may not receive a broadcast ("" when they may). Checked when the
    broadcast is made and again just before each send, so an opt-out (or a deletion) that
    comes in between is honoured."""
    if contact is None:
        return "contact_deleted"
    eligibility = contact_marketing_eligibility(contact, marketing_template=marketing)
    return "" if eligibility.allowed else eligibility.code


def broadcast_audience(
    *, organization: Organization, group_ids=(), contact_ids=(), marketing: bool
) -> Audience:
    """The organization's contacts in these groups or with these ids, each once, and who of
    them may not receive the template (another organization's ids match nobody)."""
    contacts = (
        Contact.objects.filter(organization=organization)
        .filter(Q(groups__id__in=_ids(group_ids)) | Q(pk__in=_ids(contact_ids)))
        .distinct()
        .order_by("id")
    )
    audience = Audience()
    for contact in contacts.iterator(chunk_size=2000):
        audience.entries.append(
            AudienceEntry(contact, recipient_skip_code(contact, marketing=marketing))
        )
    return audience


def broadcasts_for(organization: Organization) -> QuerySet[Broadcast]:
    return Broadcast.objects.filter(organization=organization).select_related("created_by")


def broadcast_get(organization: Organization, broadcast_id) -> Broadcast | None:
    try:
        broadcast_id = int(broadcast_id)
    except (TypeError, ValueError):
        return None
    return broadcasts_for(organization).filter(pk=broadcast_id).first()


def broadcast_counts(broadcast: Broadcast) -> dict[str, int]:
    """Where the recipients stand. `sent` counts everyone Meta accepted (so it includes the
    delivered and read ones), `delivered` includes the read ones; `queued` includes a send in
    flight."""
    by_status = dict(
        BroadcastRecipient.objects.filter(broadcast=broadcast)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )

    def n(*statuses) -> int:
        return sum(by_status.get(status, 0) for status in statuses)

    return {
        "total": n(*RecipientStatus.values),
        "queued": n(RecipientStatus.QUEUED, RecipientStatus.SENDING),
        "sent": n(RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.READ),
        "delivered": n(RecipientStatus.DELIVERED, RecipientStatus.READ),
        "read": n(RecipientStatus.READ),
        "failed": n(RecipientStatus.FAILED),
        "skipped": n(RecipientStatus.SKIPPED),
        "unknown": n(RecipientStatus.UNKNOWN),
        "cancelled": n(RecipientStatus.CANCELLED),
    }


def broadcast_progress_percent(counts: dict[str, int]) -> int:
    """How much of the broadcast is behind it: everyone no longer waiting."""
    if not counts["total"]:
        return 100
    return round(100 * (counts["total"] - counts["queued"]) / counts["total"])


def broadcast_recipients(broadcast: Broadcast) -> QuerySet[BroadcastRecipient]:
    return BroadcastRecipient.objects.filter(broadcast=broadcast).select_related("contact")
