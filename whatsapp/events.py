"""Webhook deliveries as plain events, and the one dispatch point through which the apps above
whatsapp/ receive them: they subscribe in their `AppConfig.ready`, so whatsapp/ never imports
them. Handlers run in the webhook's request, after the event was stored, in subscription order."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from organizations.models import Organization


@dataclass(frozen=True)
class StatusUpdate:
    """Meta reported a delivery status for a message the organization sent."""

    organization: Organization
    message_id: str
    status: str
    error_code: int | None = None
    recipient_id: str = ""
    occurred_at: datetime | None = None
    # Meta's `pricing` object when the status carries one (category, billable), else empty.
    pricing: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InboundMessageReceived:
    """A person wrote to the organization's number."""

    organization: Organization
    message_id: str
    from_number: str
    kind: str
    text: str = ""
    occurred_at: datetime | None = None
    # The name the person gave in their WhatsApp profile, when Meta sent it.
    profile_name: str = ""


@dataclass(frozen=True)
class UserPreferenceUpdate:
    """A person stopped (`value` "stop") or resumed ("resume") the organization's marketing
    messages in WhatsApp (Meta's `user_preferences` webhook; `category` "marketing_messages")."""

    organization: Organization
    wa_id: str
    category: str
    value: str
    detail: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class TemplateStatusChanged:
    """Meta approved, rejected, paused, disabled… one of the organization's templates
    (`message_template_status_update`). `status` is Meta's event (APPROVED, REJECTED, …)."""

    organization: Organization
    meta_id: str
    name: str
    language: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class TemplateQualityChanged:
    """`message_template_quality_update`: the template's quality score changed."""

    organization: Organization
    meta_id: str
    name: str
    language: str
    quality_score: str


@dataclass(frozen=True)
class TemplateCategoryChanged:
    """`template_category_update`: Meta recategorised a template (e.g. utility to marketing)."""

    organization: Organization
    meta_id: str
    name: str
    language: str
    category: str
    previous_category: str = ""


@dataclass(frozen=True)
class PhoneNumberQualityUpdate:
    """Meta changed the number's messaging limit or flagged/unflagged it
    (phone_number_quality_update). whatsapp/ has already updated the number's health."""

    organization: Organization
    event: str  # FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE, ONBOARDING, THROUGHPUT_UPGRADE
    messaging_limit_tier: str = ""  # TIER_250, TIER_2K, ..., TIER_UNLIMITED
    messaging_limit: int | None = None  # people per 24 hours; None: unknown or unlimited


@dataclass(frozen=True)
class AccountUpdate:
    """Meta reported a change to the WhatsApp Business Account (account_update): a
    restriction, a violation, a ban or its lifting. whatsapp/ has already updated the health."""

    organization: Organization
    event: str  # ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION, DISABLED_UPDATE, ...
    restricted: bool  # the account can no longer send as before
    ban_state: str = ""


_handlers: dict[type, list[Callable]] = defaultdict(list)


def subscribe(event_type: type, handler: Callable) -> None:
    """Registers `handler(event)` for one event type. Idempotent: a handler is kept once."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def publish(event) -> None:
    for handler in list(_handlers[type(event)]):
        handler(event)
