"""Reads of contacts, groups and consent, always within one organization.

What the composer and broadcasts use: `contact_get`, `contact_for_phone`, `contacts_in_groups`,
`Contact.window_open_until` / `Contact.window_is_open`, and `contact_marketing_eligibility`."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from messaging.contacts.phones import is_us_number, wa_id_to_e164
from messaging.models import Contact, ContactGroup, ContactSettings
from organizations.models import Organization


def contact_default_region(organization: Organization) -> str:
    """The country numbers typed without + belong to ("" when none is set)."""
    return (
        ContactSettings.objects.filter(organization=organization)
        .values_list("default_region", flat=True)
        .first()
        or ""
    )


def contacts_for(
    organization: Organization, *, search: str = "", group_id: int | None = None
) -> QuerySet[Contact]:
    """The organization's contacts by name, optionally matching `search` (name, number or
    notes) and in one group."""
    contacts = Contact.objects.filter(organization=organization)
    search = (search or "").strip()
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        match = Q(name__icontains=search) | Q(notes__icontains=search)
        if digits and len(digits) >= 3:
            match |= Q(phone__contains=digits)
        contacts = contacts.filter(match)
    if group_id is not None:
        contacts = contacts.filter(groups__id=group_id)
    return contacts.prefetch_related("groups").order_by("name", "phone", "id")


def _id(value) -> int | None:
    """A database id from a URL or a query string, else None (no column holds a larger one)."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def contact_get(organization: Organization, contact_id) -> Contact | None:
    """The organization's contact with this id, else None (another organization's id too)."""
    contact_id = _id(contact_id)
    if contact_id is None:
        return None
    return (
        Contact.objects.filter(organization=organization, pk=contact_id)
        .prefetch_related("groups")
        .first()
    )


def contact_for_phone(organization: Organization, phone: str) -> Contact | None:
    """The contact with this number: E.164 ("+15551234567") or Meta's digits ("15551234567")."""
    e164 = wa_id_to_e164(phone)
    if e164 is None:
        return None
    return Contact.objects.filter(organization=organization, phone=e164).first()


def contacts_in_groups(organization: Organization, group_ids) -> QuerySet[Contact]:
    """Everyone in any of these groups, each once (other organizations' group ids match
    nobody)."""
    return (
        Contact.objects.filter(organization=organization, groups__id__in=list(group_ids))
        .distinct()
        .order_by("id")
    )


def contact_groups_for(organization: Organization) -> QuerySet[ContactGroup]:
    """The organization's groups by name, each with `contact_count`."""
    return ContactGroup.objects.filter(organization=organization).annotate(
        contact_count=Count("contacts")
    )


def contact_group_get(organization: Organization, group_id) -> ContactGroup | None:
    group_id = _id(group_id)
    if group_id is None:
        return None
    return ContactGroup.objects.filter(organization=organization, pk=group_id).first()


def contact_window_open_until(organization: Organization, phone: str) -> datetime | None:
    """Until when free-form messages to this number may be sent (None: not a contact, or they
    never wrote in)."""
    contact = contact_for_phone(organization, phone)
    return contact.window_open_until if contact else None


@dataclass(frozen=True)
class MarketingEligibility:
    """Whether a contact may receive marketing (broadcast) messages; when not, why."""

    allowed: bool
    # "" when allowed; else "opted_out", "no_consent" or "us_number".
    code: str = ""
    reason: str = ""


def contact_marketing_eligibility(
    contact: Contact, *, marketing_template: bool = True
) -> MarketingEligibility:
    """Consented and not opted out. With `marketing_template`, also not a United States
    number (Meta does not deliver marketing templates to them)."""
    if contact.opted_out_at is not None:
        how = f": {contact.opt_out_reason}" if contact.opt_out_reason else ""
        return MarketingEligibility(
            False, "opted_out", f"Opted out on {contact.opted_out_at:%Y-%m-%d}{how}."
        )
    if contact.opted_in_at is None:
        return MarketingEligibility(
            False, "no_consent", "No consent to receive messages is recorded."
        )
    if marketing_template and is_us_number(contact.phone):
        return MarketingEligibility(
            False,
            "us_number",
            "WhatsApp does not deliver marketing templates to United States numbers.",
        )
    return MarketingEligibility(True)
