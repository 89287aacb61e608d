"""Writes for contacts, groups and consent.

Owners and admins edit contacts; the webhook (inbound messages, Meta's marketing preferences)
and the send paths (error 131050) record windows, opt-outs and opt-ins through
`contact_inbound_record`, `contact_opt_out` and `contact_opt_in`."""

import logging
import re
import unicodedata
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import NotAllowed, ServiceError
from messaging.contacts.phones import is_known_region, phone_to_e164, wa_id_to_e164
from messaging.contacts.selectors import contact_default_region
from messaging.models import ConsentRecord, ConsentSource, Contact, ContactGroup, ContactSettings
from organizations import audit
from organizations.models import Membership, Organization, User
from organizations.services import audit_record
from whatsapp import events

logger = logging.getLogger(__name__)


NAME_MAX = 200
NOTES_MAX = 5000
GROUP_NAME_MAX = 100
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?")
MANAGERS_ONLY = "Only owners and admins can change contacts."


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise NotAllowed(MANAGERS_ONLY)


def _has_control(value: str, *, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch)[0] == "C" and ch not in allowed for ch in value)


# --- checks shared by the API, the pages and the CSV import -----------------------------------


def clean_name(value: str) -> str:
    value = (value or "").strip()
    if len(value) > NAME_MAX:
        raise ServiceError(f"The name is too long (at most {NAME_MAX} characters).", field="name")
    if _has_control(value):
        raise ServiceError("The name cannot contain control characters.", field="name")
    return value


def clean_language(value: str) -> str:
    value = (value or "").strip()
    if value and not LANGUAGE_CODE.fullmatch(value):
        raise ServiceError('Use a language code such as "en", "es" or "pt_BR".', field="language")
    return value


def clean_notes(value: str) -> str:
    value = (value or "").strip()
    if len(value) > NOTES_MAX:
        raise ServiceError(
            f"The notes are too long (at most {NOTES_MAX} characters).", field="notes"
        )
    if _has_control(value, allow_newlines=True):
        raise ServiceError("The notes cannot contain control characters.", field="notes")
    return value


def clean_group_name(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError("Enter the group's name.", field="name")
    if len(value) > GROUP_NAME_MAX:
        raise ServiceError(
            f"The group name is too long (at most {GROUP_NAME_MAX} characters).", field="name"
        )
    if _has_control(value) or ";" in value:
        raise ServiceError(
            "A group name cannot contain ; (it separates groups in CSV files) or control "
            "characters.",
            field="name",
        )
    return value


def _groups_for_ids(organization: Organization, group_ids) -> list[ContactGroup]:
    ids = list(dict.fromkeys(group_ids))
    groups = list(ContactGroup.objects.filter(organization=organization, pk__in=ids))
    missing = set(ids) - {group.pk for group in groups}
    if missing:
        raise ServiceError(
            f"No such group: {', '.join(str(i) for i in sorted(missing))}.", field="groups"
        )
    return groups


# --- consent ---------------------------------------------------------------------------------


def _consent_record(contact: Contact, action: str, source: str, detail: str, actor, at):
    return ConsentRecord(
        organization_id=contact.organization_id,
        contact=contact,
        phone=contact.phone,
        action=action,
        source=source,
        detail=detail[:200],
        actor=actor if actor is not None and actor.is_authenticated else None,
        created_at=at,
    )


def _apply_opt_out(
    contact: Contact, *, reason: str, source: str, at: datetime, actor: User | None = None
) -> bool:
    """Marks the (locked) contact opted out. False when it already was."""
    if contact.opted_out_at is not None:
        return False
    contact.opted_out_at = at
    contact.opt_out_reason = reason[:200]
    contact.opt_out_source = source
    contact.save(update_fields=["opted_out_at", "opt_out_reason", "opt_out_source", "updated_at"])
    _consent_record(contact, ConsentRecord.Action.OPT_OUT, source, reason, actor, at).save()
    return True


def _apply_opt_in(
    contact: Contact, *, source: str, detail: str, at: datetime, actor: User | None = None
) -> bool:
    """Records consent on the (locked) contact and lifts any opt-out. False when the contact
    already had consent and no opt-out."""
    if contact.opted_in_at is not None and contact.opted_out_at is None:
        return False
    contact.opted_in_at = at
    contact.opt_in_source = source
    contact.opted_out_at = None
    contact.opt_out_reason = ""
    contact.opt_out_source = ""
    contact.save(
        update_fields=[
            "opted_in_at",
            "opt_in_source",
            "opted_out_at",
            "opt_out_reason",
            "opt_out_source",
            "updated_at",
        ]
    )
    _consent_record(contact, ConsentRecord.Action.OPT_IN, source, detail, actor, at).save()
    return True


def _adopt_earlier_records(contact: Contact) -> None:
    """A number added again takes over the consent records its deleted contact left, and an
    opt-out among them still holds."""
    records = ConsentRecord.objects.filter(
        organization_id=contact.organization_id, phone=contact.phone, contact__isnull=True
    )
    last = records.order_by("-created_at", "-id").first()
    if last is None:
        return
    records.update(contact=contact)
    if last.action == ConsentRecord.Action.OPT_OUT:
        contact.opted_out_at = last.created_at
        contact.opt_out_reason = last.detail
        contact.opt_out_source = last.source
        contact.opted_in_at = None
        contact.opt_in_source = ""
        contact.save(
            update_fields=[
                "opted_out_at",
                "opt_out_reason",
                "opt_out_source",
                "opted_in_at",
                "opt_in_source",
            ]
        )


def _locked_contact(organization: Organization, e164: str, **defaults) -> tuple[Contact, bool]:
    """The contact with this number, locked for this transaction; created when unknown."""
    try:
        with transaction.atomic():
            contact, created = Contact.objects.select_for_update().get_or_create(
                organization=organization, phone=e164, defaults=defaults
            )
    except IntegrityError:  # created meanwhile by another request
        contact, created = (
            Contact.objects.select_for_update().get(organization=organization, phone=e164),
            False,
        )
    if created:
        _adopt_earlier_records(contact)
    return contact, created


@transaction.atomic
def contact_opt_out(
    *,
    organization: Organization,
    phone: str,
    reason: str,
    source: str,
    occurred_at: datetime | None = None,
    actor: User | None = None,
) -> Contact | None:
    """Opts the person with this number out of the organization's marketing messages at once,
    creating the contact when the number is unknown so the opt-out is kept.

    `phone`: E.164 or Meta's digits. `source`: a ConsentSource (e.g. SEND_ERROR for Meta's
    131050). Returns the contact, or None when `phone` is not a number."""
    e164 = wa_id_to_e164(phone)
    if e164 is None:
        return None
    contact, _ = _locked_contact(organization, e164)
    _apply_opt_out(
        contact, reason=reason, source=source, at=occurred_at or timezone.now(), actor=actor
    )
    return contact


@transaction.atomic
def contact_opt_in(
    *,
    organization: Organization,
    phone: str,
    source: str,
    detail: str = "",
    occurred_at: datetime | None = None,
    actor: User | None = None,
) -> Contact | None:
    """Records the person's consent to marketing messages (and lifts an opt-out). Only for an
    explicit consent: the person's START, a form or an import. Returns the contact, or None
    when `phone` is not a number."""
    e164 = wa_id_to_e164(phone)
    if e164 is None:
        return None
    contact, _ = _locked_contact(organization, e164)
    _apply_opt_in(
        contact, source=source, detail=detail, at=occurred_at or timezone.now(), actor=actor
    )
    return contact


def _keyword(text: str) -> str:
    """The message reduced to what a keyword compares with: no surrounding spaces or
    punctuation, case folded."""
    return unicodedata.normalize("NFC", (text or "").strip().strip(".!¡?¿ ").strip()).casefold()


def _keyword_in(word: str, keywords) -> str | None:
    for keyword in keywords:
        if word and word == unicodedata.normalize("NFC", keyword.strip()).casefold():
            return keyword
    return None


@transaction.atomic
def contact_inbound_record(
    *,
    organization: Organization,
    from_number: str,
    kind: str,
    text: str = "",
    occurred_at: datetime | None = None,
    profile_name: str = "",
) -> Contact | None:
    """A person wrote in: their window opens (24 h from this message), an unknown number
    becomes a contact (without consent to marketing), and a message that is only an opt-out
    or opt-in keyword (settings OPT_OUT_KEYWORDS / OPT_IN_KEYWORDS) is honoured at once."""
    e164 = wa_id_to_e164(from_number)
    if e164 is None:
        return None
    now = timezone.now()
    at = min(occurred_at, now) if occurred_at else now
    contact, _ = _locked_contact(organization, e164, name=clean_profile_name(profile_name))
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        contact.last_inbound_at = at
        contact.save(update_fields=["last_inbound_at", "updated_at"])
    if kind != "text":
        return contact
    word = _keyword(text)
    stop = _keyword_in(word, settings.OPT_OUT_KEYWORDS)
    start = None if stop else _keyword_in(word, settings.OPT_IN_KEYWORDS)
    if stop:
        _apply_opt_out(contact, reason=f'Replied "{stop}"', source=ConsentSource.KEYWORD, at=at)
    elif start:
        _apply_opt_in(contact, source=ConsentSource.KEYWORD, detail=f'Replied "{start}"', at=at)
    return contact


def clean_profile_name(value: str) -> str:
    value = "".join(ch for ch in (value or "") if unicodedata.category(ch)[0] != "C")
    return value.strip()[:NAME_MAX]


@transaction.atomic
def contact_marketing_preference_record(
    *, organization: Organization, phone: str, value: str, occurred_at: datetime | None = None
) -> Contact | None:
    """Meta's `user_preferences`: "stop" opts out of marketing; "resume" lifts that opt-out
    (consent given earlier counts again; none is created). A "resume" older than the opt-out it
    would lift is a late delivery and changes nothing."""
    e164 = wa_id_to_e164(phone)
    if e164 is None or value not in ("stop", "resume"):
        return None
    at = occurred_at or timezone.now()
    contact, _ = _locked_contact(organization, e164)
    if value == "stop":
        _apply_opt_out(
            contact,
            reason="Stopped marketing messages in WhatsApp",
            source=ConsentSource.WHATSAPP,
            at=at,
        )
    elif contact.opted_out_at is not None and at >= contact.opted_out_at:
        contact.opted_out_at = None
        contact.opt_out_reason = ""
        contact.opt_out_source = ""
        contact.save(
            update_fields=["opted_out_at", "opt_out_reason", "opt_out_source", "updated_at"]
        )
        _consent_record(
            contact,
            ConsentRecord.Action.OPT_IN,
            ConsentSource.WHATSAPP,
            "Resumed marketing messages in WhatsApp",
            None,
            at,
        ).save()
    return contact


def on_inbound_message(event: events.InboundMessageReceived) -> None:
    """Subscribed to the webhook's inbound messages (MessagingConfig.ready)."""
    contact_inbound_record(
        organization=event.organization,
        from_number=event.from_number,
        kind=event.kind,
        text=event.text,
        occurred_at=event.occurred_at,
        profile_name=event.profile_name,
    )


def on_user_preference_update(event: events.UserPreferenceUpdate) -> None:
    """Subscribed to Meta's marketing preference changes (MessagingConfig.ready)."""
    if event.category and event.category != "marketing_messages":
        logger.info("Ignoring a user preference of category %r", event.category)
        return
    contact_marketing_preference_record(
        organization=event.organization,
        phone=event.wa_id,
        value=event.value,
        occurred_at=event.occurred_at,
    )


# --- contacts --------------------------------------------------------------------------------


def _duplicate() -> ServiceError:
    return ServiceError(
        "A contact with this number already exists.", field="phone", code="duplicate_phone"
    )


@transaction.atomic
def contact_create(
    *,
    membership: Membership,
    phone: str,
    name: str = "",
    language: str = "",
    group_ids=(),
    notes: str = "",
    opted_in: bool = False,
    source: str = ConsentSource.FORM,
) -> Contact:
    """Adds a contact. `phone` as typed (read with the organization's default country);
    `opted_in` records the person's consent, given to the member who enters it."""
    _require_manager(membership)
    organization = membership.organization
    e164 = phone_to_e164(phone, region=contact_default_region(organization))
    values = {
        "name": clean_name(name),
        "language": clean_language(language),
        "notes": clean_notes(notes),
    }
    groups = _groups_for_ids(organization, group_ids)
    if Contact.objects.filter(organization=organization, phone=e164).exists():
        raise _duplicate()
    try:
        with transaction.atomic():
            contact = Contact.objects.create(organization=organization, phone=e164, **values)
    except IntegrityError:
        raise _duplicate() from None
    _adopt_earlier_records(contact)
    contact.groups.set(groups)
    if opted_in:
        _staff_consent(contact, membership=membership, source=source)
    return contact


def _staff_consent(contact: Contact, *, membership: Membership, source: str) -> None:
    _apply_opt_in(
        contact,
        source=source,
        detail=f"Recorded by {membership.user.email}",
        at=timezone.now(),
        actor=membership.user,
    )


def _change_fields(contact: Contact, organization: Organization, changes: dict) -> list[str]:
    """Sets the changed phone, name, language and notes on the contact; their names."""
    fields = []
    if "phone" in changes:
        e164 = phone_to_e164(changes["phone"], region=contact_default_region(organization))
        if e164 != contact.phone:
            taken = Contact.objects.filter(organization=organization, phone=e164)
            if taken.exclude(pk=contact.pk).exists():
                raise _duplicate()
            contact.phone = e164
            fields.append("phone")
    cleaners = (("name", clean_name), ("language", clean_language), ("notes", clean_notes))
    for field, clean in cleaners:
        if field in changes:
            setattr(contact, field, clean(changes[field]))
            fields.append(field)
    return fields


def _staff_consent_change(
    contact: Contact, *, membership: Membership, opted_in: bool | None, source: str
) -> None:
    if opted_in is True:
        _staff_consent(contact, membership=membership, source=source)
    elif opted_in is False and contact.has_marketing_consent:
        _apply_opt_out(
            contact,
            reason=f"Consent withdrawn by {membership.user.email}",
            source=source,
            at=timezone.now(),
            actor=membership.user,
        )


@transaction.atomic
def contact_update(
    *,
    membership: Membership,
    contact: Contact,
    source: str = ConsentSource.FORM,
    **changes,
) -> Contact:
    """Changes the given fields among phone, name, language, group_ids, notes and opted_in
    (True records consent; False withdraws it as an opt-out by the member)."""
    _require_manager(membership)
    organization = membership.organization
    unknown = set(changes) - {"phone", "name", "language", "group_ids", "notes", "opted_in"}
    if unknown:
        raise ServiceError(f"Cannot change {', '.join(sorted(unknown))}.")
    contact = Contact.objects.select_for_update().get(pk=contact.pk, organization=organization)
    fields = _change_fields(contact, organization, changes)
    groups = _groups_for_ids(organization, changes["group_ids"]) if "group_ids" in changes else None
    if fields:
        try:
            with transaction.atomic():
                contact.save(update_fields=[*fields, "updated_at"])
        except IntegrityError:
            raise _duplicate() from None
    if groups is not None:
        contact.groups.set(groups)
    _staff_consent_change(
        contact, membership=membership, opted_in=changes.get("opted_in"), source=source
    )
    return contact


@transaction.atomic
def contact_delete(*, membership: Membership, contact: Contact, ip: str | None = None) -> None:
    """Deletes the contact. Its consent records stay (by number), so an opt-out survives the
    number being added again."""
    _require_manager(membership)
    contact = (
        Contact.objects.select_for_update()
        .filter(pk=contact.pk, organization=membership.organization)
        .first()
    )
    if contact is None:
        return  # deleted meanwhile
    metadata = {"contact_id": contact.pk, "name": contact.name, "phone": contact.phone}
    contact.delete()
    audit_record(
        organization=membership.organization,
        actor=membership.user,
        action=audit.CONTACT_DELETED,
        target=metadata["phone"],
        ip=ip,
        metadata=metadata,
    )


# --- groups ----------------------------------------------------------------------------------


def _group_name_taken() -> ServiceError:
    return ServiceError("A group with this name already exists.", field="name", code="duplicate")


def _save_group(group: ContactGroup) -> ContactGroup:
    taken = ContactGroup.objects.filter(
        organization=group.organization, name__iexact=group.name
    ).exclude(pk=group.pk)
    if taken.exists():
        raise _group_name_taken()
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise _group_name_taken() from None
    return group


@transaction.atomic
def contact_group_create(*, membership: Membership, name: str) -> ContactGroup:
    _require_manager(membership)
    return _save_group(
        ContactGroup(organization=membership.organization, name=clean_group_name(name))
    )


@transaction.atomic
def contact_group_update(*, membership: Membership, group: ContactGroup, name: str) -> ContactGroup:
    _require_manager(membership)
    group = ContactGroup.objects.select_for_update().get(
        pk=group.pk, organization=membership.organization
    )
    group.name = clean_group_name(name)
    return _save_group(group)


@transaction.atomic
def contact_group_delete(
    *, membership: Membership, group: ContactGroup, ip: str | None = None
) -> None:
    """Deletes the group; its contacts stay."""
    _require_manager(membership)
    group = ContactGroup.objects.filter(pk=group.pk, organization=membership.organization).first()
    if group is None:
        return  # deleted meanwhile
    metadata = {"group_id": group.pk, "name": group.name, "contacts": group.contacts.count()}
    group.delete()
    audit_record(
        organization=membership.organization,
        actor=membership.user,
        action=audit.CONTACT_GROUP_DELETED,
        target=metadata["name"],
        ip=ip,
        metadata=metadata,
    )


# --- settings --------------------------------------------------------------------------------


def contact_settings_lock(organization: Organization) -> ContactSettings:
    """The organization's contact settings row, created if needed and locked: whoever holds it
    is the only one importing for this organization."""
    ContactSettings.objects.get_or_create(organization=organization)
    return ContactSettings.objects.select_for_update().get(organization=organization)


@transaction.atomic
def contact_settings_update(
    *, membership: Membership, default_region: str, ip: str | None = None
) -> ContactSettings:
    """Sets the country of numbers typed without + ("" for none)."""
    _require_manager(membership)
    region = (default_region or "").strip().upper()
    if region and not is_known_region(region):
        raise ServiceError("Choose a country from the list.", field="default_region")
    contact_settings = contact_settings_lock(membership.organization)
    previous = contact_settings.default_region
    contact_settings.default_region = region
    contact_settings.save(update_fields=["default_region", "updated_at"])
    if previous != region:
        audit_record(
            organization=membership.organization,
            actor=membership.user,
            action=audit.CONTACT_SETTINGS_UPDATED,
            target=region,
            ip=ip,
            metadata={"default_region": region, "previous": previous},
        )
    return contact_settings
