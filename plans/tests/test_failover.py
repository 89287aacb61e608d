"""Which key serves a draft: the main key, the backup key (Pro, Enterprise), the platform's
key (Enterprise), with fail-over to the next key and a shared cool-down."""

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from aiconfig.models import AIConfig
from conftest import api_client
from devtools.fakes.providers import VALID_KEYS
from messaging.models import MessageRecord
from plans.models import AIUsage
from plans.tests.conftest import GENERATE, set_plan, store_key, used_keys

pytestmark = pytest.mark.django_db


def draft(user, org=None):
    return api_client(user, org).post(GENERATE, {"prompt": "Sunday service"}, format="json")


def test_it_drafts_with_the_platform_key_for_an_enterprise_org_without_a_key(
    team, fake_providers, platform_key
):
    set_plan(team.org, "enterprise")
    response = draft(team.member)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["credential"] == "platform" and body["provider"] == "openai"
    assert platform_key not in response.content.decode()
    assert used_keys(fake_providers) == [platform_key]
    usage = AIUsage.objects.get()
    assert usage.credential == "platform" and usage.purpose == "draft" and usage.ok
    assert MessageRecord.objects.get(kind="draft").credential == "platform"


@pytest.mark.parametrize("plan", ["free", "pro"])
def test_it_never_uses_the_platform_key_below_enterprise(team, fake_providers, platform_key, plan):
    set_plan(team.org, plan)
    response = draft(team.member)
    assert response.status_code == 409
    assert response.json()["error_code"] == "not_configured"
    assert used_keys(fake_providers) == []


def test_it_uses_the_own_key_first_unless_the_org_chose_the_platform_first(
    team, fake_providers, platform_key
):
    set_plan(team.org, "enterprise")
    store_key(team.org)
    assert draft(team.member).json()["credential"] == "primary"
    set_plan(team.org, "enterprise", ai_use_priority="platform_first")
    assert draft(team.member).json()["credential"] == "platform"
    assert used_keys(fake_providers) == [VALID_KEYS["openai"], platform_key]


@pytest.mark.parametrize("scenario", ["rate_limited", "no_credit", "server_error", "hang"])
def test_it_drafts_with_the_backup_key_when_the_main_key_fails(
    team, fake_providers, backup_key, settings, scenario
):
    settings.AI_PROVIDER_TIMEOUT = 0.5
    set_plan(team.org, "pro")
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], scenario)
    response = draft(team.member)
    assert response.status_code == 200, response.content
    assert response.json()["credential"] == "backup"
    calls = list(AIUsage.objects.order_by("id").values_list("credential", "ok", "error_code"))
    expected = {
        "rate_limited": "rate_limited",
        "no_credit": "insufficient_quota",
        "server_error": "provider_error",
        "hang": "timeout",
    }[scenario]
    assert calls == [("primary", False, expected), ("backup", True, "")]
    # The main key rests: the next draft goes straight to the backup key.
    fake_providers.requests.clear()
    assert draft(team.member).json()["credential"] == "backup"
    assert used_keys(fake_providers) == [backup_key]


def test_it_shows_which_key_drafted_on_the_composer_page(team, fake_providers, backup_key):
    set_plan(team.org, "pro")
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], "rate_limited")
    page = Client()
    page.force_login(team.member)
    html = page.post(
        "/messages/", {"action": "draft", "prompt": "Hello", "tone": "warm"}
    ).content.decode()
    assert "with your backup key" in html


def test_it_tries_the_main_key_again_after_the_cool_down(
    team, fake_providers, backup_key, settings
):
    set_plan(team.org, "pro")
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], "rate_limited")
    assert draft(team.member).json()["credential"] == "backup"
    cache.clear()  # the cool-down entry expired
    fake_providers.key_scenarios.clear()
    assert draft(team.member).json()["credential"] == "primary"


def test_it_ignores_a_backup_key_on_the_free_plan(team, fake_providers, backup_key):
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], "rate_limited")
    response = draft(team.member)
    assert response.status_code == 502
    assert response.json()["error_code"] == "rate_limited"
    assert backup_key not in used_keys(fake_providers)


def test_it_retries_only_once(team, fake_providers, backup_key, platform_key):
    set_plan(team.org, "enterprise")
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], "rate_limited")
    fake_providers.set_key_scenario(backup_key, "rate_limited")
    response = draft(team.member)
    assert response.status_code == 502 and response.json()["error_code"] == "rate_limited"
    assert used_keys(fake_providers) == [VALID_KEYS["openai"], backup_key]
    # Both own keys now rest: the next call goes to the platform's key.
    assert draft(team.member).json()["credential"] == "platform"


def test_it_does_not_fail_over_when_the_request_itself_is_at_fault(
    team, fake_providers, backup_key
):
    set_plan(team.org, "pro")
    store_key(team.org, model="no-such-model")
    store_key(team.org, slot="backup", key=backup_key)
    response = draft(team.member)
    assert response.status_code == 502 and response.json()["error_code"] == "model_not_found"
    assert used_keys(fake_providers) == [VALID_KEYS["openai"]]


def test_it_feeds_the_health_of_a_refused_key_and_serves_with_the_backup(
    team, fake_providers, backup_key
):
    set_plan(team.org, "pro")
    store_key(team.org, key="sk-proj-REVOKEDkey0123456789abcdefghijklmn")
    store_key(team.org, slot="backup", key=backup_key)
    response = draft(team.member)
    assert response.json()["credential"] == "backup"
    primary = AIConfig.objects.get(slot="primary")
    assert primary.last_test_ok is False and primary.last_error_code == "invalid_api_key"


def test_it_shares_the_cool_down_between_processes_through_the_cache(
    team, fake_providers, backup_key
):
    from aiconfig.resolution import credentials_for

    set_plan(team.org, "pro")
    store_key(team.org)
    store_key(team.org, slot="backup", key=backup_key)
    primary = credentials_for(team.org)[0]
    cache.set(primary.cooldown_key, "rate_limited", 60)  # as another process would
    assert draft(team.member).json()["credential"] == "backup"
    assert used_keys(fake_providers) == [backup_key]


def test_it_never_shows_or_logs_the_platform_key(team, fake_providers, platform_key, caplog):
    caplog.set_level(logging.DEBUG)
    set_plan(team.org, "enterprise")
    draft(team.member)
    fake_providers.set_key_scenario(platform_key, "rate_limited")
    cache.clear()
    draft(team.member)
    page = Client()
    page.force_login(team.owner)
    pages = [page.get(url).content.decode() for url in ("/plan/", "/settings/", "/messages/")]
    api = [
        api_client(team.owner).get(url).content.decode()
        for url in ("/api/usage", "/api/plan", "/api/settings/ai-config")
    ]
    for text in (*pages, *api, caplog.text):
        assert platform_key not in text
        assert platform_key[-4:] not in text
