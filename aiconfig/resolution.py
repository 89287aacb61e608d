"""Credential resolution: which AI keys may serve an organization's call, in which order,
and which of them are resting after a failure.

Order: the main key, then the backup key (plans with a backup), then the platform's managed key
(plans with it; first instead when the organization chose "platform first"). A key that failed
with a rate limit, exhausted quota, a 5xx or a timeout rests for AI_FAILOVER_COOLDOWN_SECONDS,
recorded in the cache so every process skips it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from aiconfig.models import AIConfig, Slot
from aiconfig.providers import PROVIDERS, default_model_for
from aiconfig.selectors import ai_configs_for
from common.errors import ServiceError
from organizations.models import AIUsePriority, Organization
from plans.models import Credential as CredentialName
from plans.registry import plan_for

logger = logging.getLogger(__name__)

KEY_UNREADABLE_MESSAGE = (
    "The stored API key can no longer be read (the encryption key changed). "
    "Enter the API key again and save."
)


class NoAICredential(ServiceError):
    """No key may serve the call (answered with 409): none is set up, or it is unreadable."""

    status = 409

    def __init__(self, message: str, *, code: str = "not_configured"):
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Credential:
    name: str  # "primary" | "backup" | "platform"
    provider: str
    model: str
    base_url: str | None
    api_key: str = field(repr=False)
    config: AIConfig | None = field(default=None, repr=False, compare=False)

    @property
    def cooldown_key(self) -> str:
        if self.config is None:
            return "ai-cooldown:platform"
        # A replaced key starts fresh: its row's save time is part of the name.
        return f"ai-cooldown:{self.config.pk}:{self.config.updated_at.timestamp()}"


def platform_credential() -> Credential | None:
    """The platform's managed key from the environment, or None when it is not configured."""
    provider = settings.PLATFORM_AI_PROVIDER
    if not provider or provider not in PROVIDERS or not settings.PLATFORM_AI_API_KEY:
        return None
    return Credential(
        name=CredentialName.PLATFORM,
        provider=provider,
        model=settings.PLATFORM_AI_MODEL or default_model_for(provider),
        base_url=settings.PLATFORM_AI_BASE_URL or None,
        api_key=settings.PLATFORM_AI_API_KEY,
    )


def _own(config: AIConfig | None) -> Credential | None:
    if config is None or config.key_unreadable:
        return None
    return Credential(
        name=config.slot,
        provider=config.provider,
        model=config.model,
        base_url=config.base_url or None,
        api_key=config.api_key,
        config=config,
    )


def credentials_for(organization: Organization) -> list[Credential]:
    """The keys that may serve the organization's AI calls, in the order to try them.
    Raises NoAICredential when there is none."""
    plan = plan_for(organization)
    configs = ai_configs_for(organization)
    own = [_own(configs.get(Slot.PRIMARY))]
    if plan.backup_key:
        own.append(_own(configs.get(Slot.BACKUP)))
    chain = [c for c in own if c is not None]
    platform = platform_credential() if plan.platform_key else None
    if platform is not None:
        if organization.ai_use_priority == AIUsePriority.PLATFORM_FIRST:
            chain.insert(0, platform)
        else:
            chain.append(platform)
    if not chain:
        if any(c is not None and c.key_unreadable for c in configs.values()):
            raise NoAICredential(KEY_UNREADABLE_MESSAGE, code="key_unreadable")
        raise NoAICredential("Connect an AI provider in Settings before using AI.")
    return chain


def is_cooling_down(credential: Credential) -> bool:
    try:
        return cache.get(credential.cooldown_key) is not None
    except Exception:  # a cache outage must not stop AI calls
        logger.warning("AI cooldown lookup failed; trying the key anyway", exc_info=True)
        return False


def cool_down(credential: Credential, error_code: str) -> None:
    try:
        cache.set(credential.cooldown_key, error_code, settings.AI_FAILOVER_COOLDOWN_SECONDS)
    except Exception:
        logger.warning("AI cooldown could not be recorded", exc_info=True)


def in_trying_order(chain: list[Credential]) -> list[Credential]:
    """Resting keys go last (still tried when nothing else is left)."""
    return sorted(chain, key=is_cooling_down)  # sorted() is stable
