"""Helpers for plan, usage and fail-over tests: keys stored straight in the database (their
save path is tested in aiconfig), the platform key pointed at the fake providers."""

import pytest

from aiconfig.models import AIConfig
from devtools.fakes.providers import VALID_KEYS

BACKUP_OPENAI_KEY = "sk-proj-BACKUPkeyOPENAI0123456789abcdefBKUP"
PLATFORM_KEY = "sk-proj-PLATFORMkeyOPENAI0123456789abcdPLTF"
GENERATE = "/api/messages/generate"


def store_key(org, slot="primary", provider="openai", key=None, model="gpt-4o-mini"):
    return AIConfig.objects.create(
        organization=org,
        slot=slot,
        provider=provider,
        api_key=key or VALID_KEYS[provider],
        model=model,
        last_test_ok=True,
    )


# A self-hosted model on the custom provider: really missing from the price table (the
# tests check it is), and served by the fake's custom mount.
UNPRICED_MODEL = "qwen2.5:7b"


def store_unpriced_key(org, settings, fake_providers, slot="primary"):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True  # the fake listens on 127.0.0.1
    return AIConfig.objects.create(
        organization=org,
        slot=slot,
        provider="custom",
        api_key=VALID_KEYS["custom"],
        base_url=fake_providers.base_urls()["CUSTOM_BASE_URL"],
        model=UNPRICED_MODEL,
        last_test_ok=True,
    )


def set_plan(org, plan, **fields):
    org.plan = plan
    for name, value in fields.items():
        setattr(org, name, value)
    org.save()


@pytest.fixture
def platform_key(settings, fake_providers):
    """The platform's managed key: a third OpenAI key the fake accepts."""
    fake_providers.add_key(PLATFORM_KEY)
    settings.PLATFORM_AI_PROVIDER = "openai"
    settings.PLATFORM_AI_API_KEY = PLATFORM_KEY
    settings.PLATFORM_AI_MODEL = "gpt-4o-mini"
    return PLATFORM_KEY


@pytest.fixture
def backup_key(fake_providers):
    fake_providers.add_key(BACKUP_OPENAI_KEY)
    return BACKUP_OPENAI_KEY


def used_keys(fake_providers) -> list[str]:
    """The key of every generation the fake OpenAI received, in order."""
    return [
        r.headers.get("authorization", "").removeprefix("Bearer ")
        for r in fake_providers.requests_for("openai")
        if r.path.endswith("/chat/completions")
    ]
