"""Writes for WhatsApp settings and webhook deliveries. Credentials are saved only after Meta
accepted them."""

import json
import logging
import re
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.encryption import UnreadableSecret
from common.errors import NotAllowed, ServiceError
from common.http import bulkhead
from common.validators import clean_provider_text
from organizations import audit
from organizations.models import Membership, Organization, User
from organizations.services import audit_record
from whatsapp import events, graph, health
from whatsapp.models import InboundMessage, StatusEvent, WhatsAppConfig
from whatsapp.selectors import whatsapp_config_for
from whatsapp.signatures import signature_is_valid

logger = logging.getLogger(__name__)

TOKEN_UNREADABLE_MESSAGE = (
    "The stored access token can no longer be read (the encryption key changed). "
    "Enter the access token again and save."
)


class VerificationFailed(ServiceError):
    """Meta refused the credentials: carries the classified Graph error."""

    def __init__(self, error: graph.GraphError):
        super().__init__(error.message, code=error.error_code, field=error.field)
        self.graph_error = error


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can change the WhatsApp settings.")


def _resolve_token(*, membership: Membership, access_token: str | None) -> str:
    if access_token:
        return access_token
    config = whatsapp_config_for(membership.organization)
    if config is None:
        raise ServiceError("Enter the access token.", field="access_token", code="required")
    if config.token_unreadable:
        raise ServiceError(TOKEN_UNREADABLE_MESSAGE, field="access_token", code="token_unreadable")
    return config.access_token


def _verify(
    *, membership: Membership, phone_number_id: str, business_account_id: str, token: str
) -> graph.PhoneNumberInfo:
    try:
        with bulkhead(organization_id=membership.organization_id):
            return graph.verify_credentials(
                phone_number_id=phone_number_id,
                business_account_id=business_account_id,
                access_token=token,
            )
    except graph.GraphError as exc:
        raise VerificationFailed(exc) from None


def whatsapp_config_test(
    *,
    membership: Membership,
    phone_number_id: str,
    business_account_id: str,
    access_token: str | None = None,
    app_secret: str | None = None,
    app_id: str | None = None,
) -> graph.PhoneNumberInfo:
    """Verifies the credentials with Meta. Saves nothing; raises VerificationFailed.

    `app_secret` and `app_id` play no part in the check (they only let later checks ask when
    the token expires); they are accepted so that a test takes the same input as a save."""
    _require_manager(membership)
    token = _resolve_token(membership=membership, access_token=access_token)
    stored = None if access_token else whatsapp_config_for(membership.organization)
    if stored is not None and stored.phone_number_id != phone_number_id:
        stored = None  # another number: the answer says nothing about the stored connection
    try:
        info = _verify(
            membership=membership,
            phone_number_id=phone_number_id,
            business_account_id=business_account_id,
            token=token,
        )
    except VerificationFailed as exc:
        if stored is not None:
            health.whatsapp_health_record(
                config=stored, result=health.classify(exc.code), source="test"
            )
        raise
    if stored is not None:
        health.whatsapp_health_record(
            config=stored,
            result=health.number_result(
                status=None,
                quality_rating=info.quality_rating,
                account_restriction=stored.account_restriction,
            ),
            source="test",
        )
    return info


def whatsapp_config_save(
    *,
    membership: Membership,
    phone_number_id: str,
    business_account_id: str,
    access_token: str | None = None,
    app_secret: str | None = None,
    app_id: str | None = None,
    ip: str | None = None,
) -> WhatsAppConfig:
    """Verifies with Meta first and saves only when Meta accepts the credentials.

    `access_token`, `app_secret` or `app_id` None keeps the stored value; "" removes it."""
    _require_manager(membership)
    token = _resolve_token(membership=membership, access_token=access_token)
    # The network call stays outside the transaction: no row is locked while Meta answers.
    info = _verify(
        membership=membership,
        phone_number_id=phone_number_id,
        business_account_id=business_account_id,
        token=token,
    )
    with transaction.atomic():
        config, created = WhatsAppConfig.objects.select_for_update().get_or_create(
            organization=membership.organization,
            defaults={
                "phone_number_id": phone_number_id,
                "business_account_id": business_account_id,
                "access_token": token,
            },
        )
        token_changed = created or config.access_token != token
        if config.business_account_id != business_account_id:
            config.account_restriction = ""  # it belonged to the other account
        config.phone_number_id = phone_number_id
        config.business_account_id = business_account_id
        config.access_token = token
        if app_id is not None:
            config.app_id = app_id
        if token_changed:  # the old token's expiry says nothing about the new one
            config.token_expires_at = None
            config.token_expiry_warned_at = None
        if app_secret is not None:
            config.app_secret = app_secret
        elif isinstance(config.app_secret, UnreadableSecret):
            # An unreadable stored secret cannot be written back: drop it.
            config.app_secret = ""
        config.display_phone_number = info.display_phone_number
        config.verified_name = info.verified_name
        config.quality_rating = info.quality_rating or ""
        config.last_verified_at = timezone.now()
        config.updated_by = membership.user
        config.save()
        # Meta just accepted these credentials: the connection works, unless the number
        # itself needs attention.
        health.whatsapp_health_record(
            config=config,
            result=health.number_result(
                status=None,
                quality_rating=info.quality_rating,
                account_restriction=config.account_restriction,
            ),
            source="save",
        )
        audit_record(
            organization=membership.organization,
            actor=membership.user,
            action=audit.WHATSAPP_CONFIG_CREATED if created else audit.WHATSAPP_CONFIG_UPDATED,
            target=phone_number_id,
            ip=ip,
            metadata={
                "phone_number_id": phone_number_id,
                "business_account_id": business_account_id,
                "display_phone_number": info.display_phone_number,
                "access_token": config.access_token_masked,
                "token_changed": bool(access_token),
                "app_secret_changed": app_secret is not None,
                "app_id": config.app_id,
            },
        )
    return config


def whatsapp_config_delete(*, membership: Membership, ip: str | None = None) -> bool:
    _require_manager(membership)
    return whatsapp_config_remove(
        organization=membership.organization, actor=membership.user, ip=ip
    )


@transaction.atomic
def whatsapp_config_remove(
    *, organization: Organization, actor: User | None, ip: str | None = None
) -> bool:
    config = WhatsAppConfig.objects.select_for_update().filter(organization=organization).first()
    if config is None:
        return False
    metadata = {
        "phone_number_id": config.phone_number_id,
        "business_account_id": config.business_account_id,
        "access_token": config.access_token_masked,
    }
    config.delete()
    audit_record(
        organization=organization,
        actor=actor,
        action=audit.WHATSAPP_CONFIG_DELETED,
        target=metadata["phone_number_id"],
        ip=ip,
        metadata=metadata,
    )
    return True


# --- webhook --------------------------------------------------------------------------------


class WebhookRefused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _timestamp(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def webhook_receive(*, config: WhatsAppConfig, body: bytes, signature: str | None) -> int:
    """Checks the signature over the raw body and stores the events it carries.

    Idempotent: Meta retries deliveries, and a replayed event is stored once.
    Returns how many new events were stored; raises WebhookRefused."""
    if not config.has_app_secret:
        raise WebhookRefused(403, "no app secret stored")
    if not signature_is_valid(app_secret=config.app_secret, body=body, header=signature):
        raise WebhookRefused(403, "bad signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookRefused(400, "body is not JSON") from None
    stored = 0
    for field_name, value in _changes(payload, config):
        if field_name in _TEMPLATE_FIELDS:
            stored += _publish_template_change(config.organization, field_name, value)
            continue
        if field_name in _HEALTH_FIELDS:
            stored += _HEALTH_FIELDS[field_name](config, value)
            continue
        if not _for_this_number(value, config):
            continue
        stored += _store_messages(config.organization, value)
    return stored


def _store_messages(organization: Organization, value: dict) -> int:
    """A `messages` change: delivery statuses, inbound messages, marketing preferences."""
    stored = 0
    for status in _list(value.get("statuses")):
        stored += _store_status(organization, status)
    names = _profile_names(value.get("contacts"))
    for message in _list(value.get("messages")):
        stored += _store_inbound(organization, message, names)
    for preference in _list(value.get("user_preferences")):
        stored += _publish_user_preference(organization, preference)
    return stored


def _for_this_number(value: dict, config: WhatsAppConfig) -> bool:
    """Messages and statuses belong to one phone number (`metadata.phone_number_id`): those
    for another number than the organization's are ignored (and logged), never stored as
    its own. Changes that are not about a number (account-wide ones) pass."""
    if not any(key in value for key in ("statuses", "messages", "contacts", "user_preferences")):
        return True
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    number = metadata.get("phone_number_id")
    if isinstance(number, str | int) and str(number) == config.phone_number_id:
        return True
    logger.warning(
        "WhatsApp webhook for organization %s: events for another phone number id (%s) ignored",
        config.organization_id,
        _text(str(number), 20) if isinstance(number, str | int) else "none",
    )
    return False


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _profile_names(contacts) -> dict[str, str]:
    """`contacts: [{profile: {name}, wa_id}]` beside inbound messages -> {wa_id: name}."""
    names = {}
    for contact in _list(contacts):
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
        wa_id, name = _text(contact.get("wa_id"), 20), _text(profile.get("name"), 200)
        if wa_id and name:
            names[wa_id] = name
    return names


def _publish_user_preference(organization: Organization, preference) -> int:
    """Meta's `user_preferences`: a person stopped or resumed marketing messages. Not stored
    here: the contact's consent record, kept by the app that owns contacts, is the record,
    and a replay changes nothing there."""
    if not isinstance(preference, dict):
        return 0
    wa_id = _text(preference.get("wa_id"), 20)
    value = _text(preference.get("value"), 20).lower()
    if not wa_id or value not in ("stop", "resume"):
        return 0
    events.publish(
        events.UserPreferenceUpdate(
            organization=organization,
            wa_id=wa_id,
            category=_text(preference.get("category"), 50),
            value=value,
            detail=_text(preference.get("detail"), 200),
            occurred_at=_timestamp(preference.get("timestamp")),
        )
    )
    return 1


def _changes(payload, config: WhatsAppConfig) -> list[tuple[str, dict]]:
    """(field, value) of every change in a delivery that is the organization's; field is ""
    when Meta left it out."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return []
    changes_found = []
    for entry in payload["entry"]:
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                field_name = change.get("field")
                field_name = field_name if isinstance(field_name, str) else ""
                if _for_this_account(entry, field_name, config):
                    changes_found.append((field_name, change["value"]))
    return changes_found


def _for_this_account(entry: dict, field_name: str, config: WhatsAppConfig) -> bool:
    """Template and health changes are about a whole business account, named only by the
    entry's id: those for another account than the organization's are ignored (and logged).
    Messages and statuses are checked by their phone number id instead (_for_this_number)."""
    if field_name not in _TEMPLATE_FIELDS and field_name not in _HEALTH_FIELDS:
        return True
    account = entry.get("id")
    if isinstance(account, str | int) and str(account) == config.business_account_id:
        return True
    logger.warning(
        "WhatsApp webhook for organization %s: %s for another business account id (%s) ignored",
        config.organization_id,
        field_name,
        _text(str(account), 20) if isinstance(account, str | int) else "none",
    )
    return False


_TEMPLATE_FIELDS = frozenset(
    {
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
    }
)
_META_CODE = re.compile(r"[A-Z_]{1,40}")


def _meta_code(value) -> str:
    """One of Meta's upper-case codes (APPROVED, GREEN, MARKETING…), else ""."""
    return value if isinstance(value, str) and _META_CODE.fullmatch(value) else ""


def _publish_template_change(organization: Organization, field_name: str, value: dict) -> int:
    """Template webhooks carry no id of their own and only set a state, so applying one twice
    is harmless: they are handed on, not stored."""
    raw_id = value.get("message_template_id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    name, language = value.get("message_template_name"), value.get("message_template_language")
    if not (
        isinstance(raw_id, str)
        and graph.GRAPH_ID.fullmatch(raw_id)
        and isinstance(name, str)
        and graph.TEMPLATE_NAME.fullmatch(name)
        and isinstance(language, str)
        and graph.TEMPLATE_LANGUAGE.fullmatch(language)
    ):
        return 0
    identity = {"organization": organization, "meta_id": raw_id, "name": name, "language": language}
    if field_name == "message_template_status_update":
        status = _meta_code(value.get("event"))
        if not status:
            return 0
        event = events.TemplateStatusChanged(
            **identity, status=status, reason=_meta_code(value.get("reason"))
        )
    elif field_name == "message_template_quality_update":
        quality = _meta_code(value.get("new_quality_score"))
        if not quality:
            return 0
        event = events.TemplateQualityChanged(**identity, quality_score=quality)
    else:
        category = _meta_code(value.get("new_category"))
        if not category:
            return 0
        event = events.TemplateCategoryChanged(
            **identity,
            category=category,
            previous_category=_meta_code(value.get("previous_category")),
        )
    events.publish(event)
    return 1


def _digits(value) -> str:
    return "".join(ch for ch in value if "0" <= ch <= "9") if isinstance(value, str) else ""


def _about_other_number(config: WhatsAppConfig, value: dict) -> bool:
    """The change names a number, and it is not the organization's (a WABA has several)."""
    named = _digits(value.get("display_phone_number") or value.get("phone_number"))
    known = _digits(config.display_phone_number)
    return bool(named and known and named != known)


def _apply_quality_update(config: WhatsAppConfig, value: dict) -> int:
    """phone_number_quality_update: the messaging limit changed, or Meta flagged the number
    (or lifted the flag). Updates the number's health at once; idempotent for retries."""
    if _about_other_number(config, value):
        return 0
    event = _text(value.get("event"), 40).upper()
    tier = _text(
        value.get("max_daily_conversations_per_business") or value.get("current_limit"), 20
    ).upper()
    fields = {}
    if tier.startswith("TIER_"):
        fields["messaging_limit_tier"] = tier
        fields["messaging_limit"] = health.messaging_limit_of(tier)
    if event == "FLAGGED":
        fields["number_status"] = "FLAGGED"
    elif event == "UNFLAGGED" and config.number_status == "FLAGGED":
        fields["number_status"] = "CONNECTED"
    if not fields and not event:
        return 0
    WhatsAppConfig.objects.filter(pk=config.pk).update(**fields)
    for name, field_value in fields.items():
        setattr(config, name, field_value)
    _record_number_health(config)
    events.publish(
        events.PhoneNumberQualityUpdate(
            organization=config.organization,
            event=event,
            messaging_limit_tier=config.messaging_limit_tier,
            messaging_limit=config.messaging_limit,
        )
    )
    return 1


def _apply_account_update(config: WhatsAppConfig, value: dict) -> int:
    """account_update: Meta restricted, banned or reinstated the account. Updates the
    health at once; idempotent for retries."""
    event = _text(value.get("event"), 40).upper()
    ban_info = value.get("ban_info") if isinstance(value.get("ban_info"), dict) else {}
    ban_state = _text(ban_info.get("waba_ban_state"), 40).upper()
    restriction = health.ACCOUNT_EVENT_CODES.get(event) or health.ACCOUNT_BAN_STATES.get(
        ban_state, ""
    )
    lifted = event in health.ACCOUNT_LIFTED_EVENTS or ban_state in health.ACCOUNT_LIFTED_BAN_STATES
    if not restriction and not lifted:
        return 0  # partner, pricing and verification events: not about health
    config.account_restriction = restriction
    WhatsAppConfig.objects.filter(pk=config.pk).update(account_restriction=restriction)
    _record_number_health(config)
    events.publish(
        events.AccountUpdate(
            organization=config.organization,
            event=event,
            restricted=bool(restriction),
            ban_state=ban_state,
        )
    )
    return 1


# Webhook fields about the number's and the account's health, and what applies them.
_HEALTH_FIELDS = {
    "phone_number_quality_update": _apply_quality_update,
    "account_update": _apply_account_update,
}


def _record_number_health(config: WhatsAppConfig) -> None:
    """The number's and the account's state, as the webhook left them, into the health. An
    all-clear only clears what the number or the account caused, never a token problem."""
    result = health.number_result(
        status=config.number_status,
        quality_rating=config.quality_rating,
        account_restriction=config.account_restriction,
    )
    if result.ok and config.last_error_code not in health.NUMBER_CODES | health.ACCOUNT_CODES:
        return
    if not result.ok and config.needs_attention and config.last_error_code in health.AUTH_FAILURES:
        return  # the token problem comes first: its advice stays
    health.whatsapp_health_record(config=config, result=result, source="webhook")


def _text(value, limit: int) -> str:
    # Meta's text as stored: NUL, other control characters and unpaired surrogates removed
    # (no database stores them; no page or JSON could show them), cut to the column.
    return clean_provider_text(value, limit=limit)


def _store_status(organization: Organization, status: dict) -> int:
    if not isinstance(status, dict):
        return 0
    message_id, state = _text(status.get("id"), 200), _text(status.get("status"), 20)
    if not message_id or not state:
        return 0
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    first_error = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first_error.get("code")
    # Meta's error codes are small positive numbers; keep only what an IntegerField holds.
    if not (isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 2**31):
        code = None
    try:
        with transaction.atomic():
            StatusEvent.objects.create(
                organization=organization,
                message_id=message_id,
                status=state,
                recipient_id=_text(status.get("recipient_id"), 20),
                error_code=code,
                error_title=_text(first_error.get("title"), 255),
                occurred_at=_timestamp(status.get("timestamp")),
            )
    except IntegrityError:
        return 0  # a retried delivery
    pricing = status.get("pricing") if isinstance(status.get("pricing"), dict) else {}
    events.publish(
        events.StatusUpdate(
            organization=organization,
            message_id=message_id,
            status=state,
            error_code=code,
            recipient_id=_text(status.get("recipient_id"), 20),
            occurred_at=_timestamp(status.get("timestamp")),
            pricing=pricing,
        )
    )
    return 1


def _store_inbound(organization: Organization, message: dict, names: dict[str, str]) -> int:
    if not isinstance(message, dict):
        return 0
    message_id = _text(message.get("id"), 200)
    if not message_id:
        return 0
    kind = _text(message.get("type"), 30)
    text = message.get("text") if isinstance(message.get("text"), dict) else {}
    inbound = {
        "message_id": message_id,
        "from_number": _text(message.get("from"), 20),
        "kind": kind,
        "text": _text(text.get("body"), 4096),
        "occurred_at": _timestamp(message.get("timestamp")),
    }
    try:
        with transaction.atomic():
            InboundMessage.objects.create(organization=organization, **inbound)
    except IntegrityError:
        return 0
    events.publish(
        events.InboundMessageReceived(
            organization=organization,
            **inbound,
            profile_name=names.get(inbound["from_number"], ""),
        )
    )
    return 1
