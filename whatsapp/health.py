"""The health of the stored WhatsApp token and of the number: the background check
(`GET /{phone-number-id}` with the health fields), the token's expiry (debug_token, when the
app id and app secret are given), Meta's account_update and phone_number_quality_update
webhooks, and the results of tests, saves and sends, all feeding one state
(common/credential_health.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.credential_health import CHECK_OK, CheckResult, HealthStatus, Outcome
from common.http import bulkhead
from common.tasks import claim
from organizations import audit
from organizations.credential_health import credential_health_record, managers_email, settings_url
from organizations.services import audit_record
from whatsapp import graph
from whatsapp.models import MESSAGING_LIMIT_TIERS, WhatsAppConfig

logger = logging.getLogger(__name__)

CREDENTIAL = "WhatsApp connection"
TOKEN_UNREADABLE = "token_unreadable"

# Graph errors that say the token (or what it may reach) no longer works: count towards the
# threshold. Graph code 190 (subcodes 463 expired, 460 password changed) and 10/200-299.
AUTH_FAILURES = frozenset(
    {"invalid_token", "token_expired", "permission_denied", "not_found", "phone_not_in_account"}
)
TRANSIENT = frozenset(
    {"rate_limited", "timeout", "unreachable", "invalid_response", "provider_error"}
)
# The number's status as Meta reports it (`status`), when it needs a person.
NUMBER_STATUS_CODES = {
    "FLAGGED": "number_flagged",
    "RESTRICTED": "number_restricted",
    "BANNED": "number_banned",
    "DISCONNECTED": "number_disconnected",
    "DELETED": "number_deleted",
}
QUALITY_RED = "quality_red"
# account_update events that restrict the account, and those that lift a restriction.
ACCOUNT_EVENT_CODES = {
    "ACCOUNT_RESTRICTION": "account_restricted",
    "ACCOUNT_VIOLATION": "account_violation",
    "ACCOUNT_DELETED": "account_disabled",
}
ACCOUNT_BAN_STATES = {"DISABLE": "account_disabled", "SCHEDULE_FOR_DISABLE": "account_disabled"}
ACCOUNT_LIFTED_EVENTS = frozenset({"ACCOUNT_RECONNECTED"})
ACCOUNT_LIFTED_BAN_STATES = frozenset({"REINSTATE"})
NUMBER_CODES = frozenset({*NUMBER_STATUS_CODES.values(), QUALITY_RED})
ACCOUNT_CODES = frozenset({*ACCOUNT_EVENT_CODES.values(), *ACCOUNT_BAN_STATES.values()})

HEALTH_MESSAGES = {
    TOKEN_UNREADABLE: (
        "The stored access token can no longer be read (the encryption key changed). "
        "Enter the access token again and save."
    ),
    "number_flagged": (
        "Meta flagged your WhatsApp number because of low message quality (people blocked or "
        "reported it). Send fewer messages, only to people who asked for them, until the "
        "quality rating recovers in WhatsApp Manager."
    ),
    "number_restricted": (
        "Meta restricted your WhatsApp number: it cannot start new conversations for now. "
        "Open WhatsApp Manager in Meta Business Suite to see why and for how long."
    ),
    "number_banned": (
        "Meta banned your WhatsApp number. Open WhatsApp Manager in Meta Business Suite to see "
        "why and to request a review."
    ),
    "number_disconnected": (
        "Your WhatsApp number is disconnected from the Cloud API. Register it again in your "
        "Meta app under WhatsApp > API Setup."
    ),
    "number_deleted": (
        "Meta reports this WhatsApp number as deleted. Connect another number in the settings."
    ),
    QUALITY_RED: (
        "The quality rating of your WhatsApp number is low (red): people blocked or reported "
        "recent messages. Send fewer messages, only to people who asked for them, or Meta may "
        "restrict the number."
    ),
    "account_restricted": (
        "Meta restricted your WhatsApp Business Account. Open Account Quality in Meta Business "
        "Suite to see the restriction and how to appeal."
    ),
    "account_violation": (
        "Meta reported a policy violation on your WhatsApp Business Account. Open Account "
        "Quality in Meta Business Suite to see it and how to appeal."
    ),
    "account_disabled": (
        "Meta disabled (or will disable) your WhatsApp Business Account. Open Account Quality "
        "in Meta Business Suite to see why and to request a review."
    ),
}


def classify(error_code: str | None) -> CheckResult:
    """A Graph error code (or one of ours above) as a health check result."""
    if not error_code:
        return CHECK_OK
    if error_code in AUTH_FAILURES:
        return CheckResult(Outcome.AUTH_FAILURE, error_code)
    if error_code in TRANSIENT:
        return CheckResult(Outcome.TRANSIENT, error_code)
    return CheckResult(Outcome.ATTENTION, error_code)


def advice(error_code: str | None) -> str:
    """What the owners and admins should do about `error_code`, in words."""
    code = error_code or ""
    return (
        HEALTH_MESSAGES.get(code)
        or graph.GRAPH_ERROR_MESSAGES.get(code)
        or graph.GRAPH_ERROR_MESSAGES["provider_error"]
    )


def whatsapp_health_record(*, config: WhatsAppConfig, result: CheckResult, source: str) -> None:
    """Feeds one result (check, test, save, send, webhook) into the health of the stored
    token and number. A success other than a check, on a connection known to work, writes
    nothing."""
    if result.ok and config.health_status == HealthStatus.OK and source != "check":
        return
    credential_health_record(
        model=WhatsAppConfig,
        pk=config.pk,
        result=result,
        credential=CREDENTIAL,
        advice=advice,
        source=source,
    )


def token_problem(config: WhatsAppConfig) -> bool:
    """The health is not ok because of the token or Meta's answers (not the number's or the
    account's own state, which a sent message does not disprove)."""
    if config.health_status == HealthStatus.OK:
        return False
    return config.last_error_code not in NUMBER_CODES | ACCOUNT_CODES


def messaging_limit_of(tier: str | None) -> int | None:
    return MESSAGING_LIMIT_TIERS.get(tier or "")


def number_result(
    *, status: str | None, quality_rating: str | None, account_restriction: str = ""
) -> CheckResult:
    """The number's state as a check result: ok unless it needs a person."""
    code = NUMBER_STATUS_CODES.get((status or "").upper())
    if code:
        return CheckResult(Outcome.ATTENTION, code)
    if (quality_rating or "").upper() == "RED":
        return CheckResult(Outcome.ATTENTION, QUALITY_RED)
    if account_restriction:
        return CheckResult(Outcome.ATTENTION, account_restriction)
    return CHECK_OK


def _claim_stale_after() -> timedelta:
    return timedelta(seconds=4 * float(settings.AI_PROVIDER_TIMEOUT) + 60)


def whatsapp_health_check(
    *, organization_id: int, due: datetime | None = None
) -> CheckResult | None:
    """Reads the number's health from Meta with the stored token and records it; then, when
    the app id and app secret are stored, when the token expires.

    Runs while holding the organization's health-check claim (raises common.tasks.ClaimBusy
    when another check of the organization is running). A check already made since `due` is
    not made again. Returns the result, or None when nothing was checked."""
    with (
        claim(f"health-check:{organization_id}", stale_after=_claim_stale_after()),
        # The same outbound slots as requests (raises common.http.Busy when none is free: the
        # task is retried later).
        bulkhead(organization_id=organization_id),
    ):
        config = WhatsAppConfig.objects.filter(organization_id=organization_id).first()
        if config is None:
            return None
        if due is not None and config.last_checked_at and config.last_checked_at >= due:
            return None
        if config.token_unreadable:
            result = CheckResult(Outcome.ATTENTION, TOKEN_UNREADABLE)
        else:
            try:
                info = graph.number_health(
                    phone_number_id=config.phone_number_id, access_token=config.access_token
                )
            except graph.GraphError as exc:
                result = classify(exc.error_code)
            else:
                _store_number(config, info)
                result = number_result(
                    status=info.status,
                    quality_rating=info.quality_rating,
                    account_restriction=config.account_restriction,
                )
        whatsapp_health_record(config=config, result=result, source="check")
        if result.outcome != Outcome.AUTH_FAILURE and not config.token_unreadable:
            token_expiry_check(config=config)
        return result


def _store_number(config: WhatsAppConfig, info: graph.NumberHealth) -> None:
    fields = {
        "display_phone_number": info.display_phone_number,
        "verified_name": info.verified_name,
        "quality_rating": info.quality_rating or "",
        "number_status": info.status or "",
        "name_status": info.name_status or "",
        "throughput_level": info.throughput_level or "",
    }
    if info.messaging_limit_tier:
        fields["messaging_limit_tier"] = info.messaging_limit_tier
        fields["messaging_limit"] = messaging_limit_of(info.messaging_limit_tier)
    WhatsAppConfig.objects.filter(pk=config.pk).update(**fields)
    for name, value in fields.items():
        setattr(config, name, value)


def token_expiry_check(*, config: WhatsAppConfig, now: datetime | None = None) -> None:
    """Asks Meta (debug_token) when the stored token expires, and warns the owners and admins
    by email once, TOKEN_EXPIRY_WARNING_DAYS before. Needs the app id and the app secret;
    a failure here says nothing about the token (the app secret may be wrong) and is logged."""
    if not config.app_id or not config.has_app_secret:
        return
    try:
        token = graph.debug_token(
            access_token=config.access_token, app_id=config.app_id, app_secret=config.app_secret
        )
    except graph.GraphError as exc:
        logger.info(
            "debug_token failed for organization %s: %s", config.organization_id, exc.error_code
        )
        return
    except ValueError:  # an app id or secret that cannot be sent
        return
    now = now or timezone.now()
    expires_at = datetime.fromtimestamp(token.expires_at, tz=UTC) if token.expires_at else None
    if expires_at != config.token_expires_at:
        # A new expiry (a new token): a new warning when its time comes.
        WhatsAppConfig.objects.filter(pk=config.pk).update(
            token_expires_at=expires_at, token_expiry_warned_at=None
        )
        config.token_expires_at, config.token_expiry_warned_at = expires_at, None
    warn_from = timedelta(days=settings.TOKEN_EXPIRY_WARNING_DAYS)
    if expires_at is None or expires_at - now > warn_from or config.token_expiry_warned_at:
        return
    with transaction.atomic():
        marked = WhatsAppConfig.objects.filter(
            pk=config.pk, token_expiry_warned_at__isnull=True
        ).update(token_expiry_warned_at=now)
        if not marked:
            return  # another check warned already
        config.token_expiry_warned_at = now
        organization = config.organization
        audit_record(
            organization=organization,
            actor=None,
            action=audit.WHATSAPP_TOKEN_EXPIRING,
            target=config.phone_number_id,
            metadata={"expires_at": expires_at.isoformat()},
        )
        subject, body = _token_expiry_email(organization.name, expires_at, now)
        transaction.on_commit(
            lambda: managers_email(organization=organization, subject=subject, body=body)
        )


def _token_expiry_email(name: str, expires_at: datetime, now: datetime) -> tuple[str, str]:
    """The warning's subject and body; a token that expired already (the check came late)
    is told in the past."""
    when = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if expires_at <= now:
        subject = f"{name}: the WhatsApp access token expired on {when}"
        news = f"expired on {when}. Messages cannot be sent until a new one is saved."
    else:
        subject = f"{name}: the WhatsApp access token expires on {when}"
        news = f"expires on {when}. After that, messages cannot be sent."
    body = (
        f"Hello,\n\nThe WhatsApp access token of {name} {news}\n\nCreate a permanent "
        "access token for a system user in Meta Business Settings (Users > System "
        "users > Generate new token, with the whatsapp_business_messaging and "
        "whatsapp_business_management permissions) and save it in the settings: "
        f"{settings_url()}\n"
    )
    return subject, body


def token_expires_soon(config: WhatsAppConfig, now: datetime | None = None) -> bool:
    if config.token_expires_at is None:
        return False
    now = now or timezone.now()
    return config.token_expires_at - now <= timedelta(days=settings.TOKEN_EXPIRY_WARNING_DAYS)
