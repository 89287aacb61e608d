"""Credential health on the Settings page, in the settings API, and in the banner of every
page; "Check now" from the page and the API."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from huey import signals
from huey.contrib.djhuey import HUEY

from aiconfig import services as ai_services
from aiconfig.models import AIConfig
from conftest import api_client
from devtools.fakes.graph import NEW_TOKEN, PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import NEW_KEYS, VALID_KEYS
from whatsapp import services as whatsapp_services
from whatsapp import tasks as whatsapp_tasks
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db

CHECK_API = "/api/settings/health/check"


@pytest.fixture
def connected(team, fake_providers, fake_graph):
    ai_services.ai_config_save(
        membership=team.membership(team.owner), provider="openai", api_key=VALID_KEYS["openai"]
    )
    whatsapp_services.whatsapp_config_save(
        membership=team.membership(team.owner),
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=VALID_TOKEN,
    )
    return team


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_api_shows_the_health_of_both_credentials(connected, fake_graph):
    ai = api_client(connected.member).get("/api/settings/ai-config").json()
    assert ai["health"] == {
        "status": "ok",
        "last_checked_at": ai["health"]["last_checked_at"],
        "error_code": None,
        "message": None,
    }
    assert ai["health"]["last_checked_at"]
    whatsapp = api_client(connected.member).get("/api/settings/whatsapp-meta").json()
    assert whatsapp["health"]["status"] == "ok"
    assert whatsapp["quality_rating"] == "GREEN"
    # Known after the first health check (the save reads only what verification needs).
    assert whatsapp["messaging_limit"] is None and whatsapp["number_status"] is None
    api_client(connected.admin).post(CHECK_API)
    whatsapp = api_client(connected.member).get("/api/settings/whatsapp-meta").json()
    assert whatsapp["messaging_limit"] == 2000 and whatsapp["number_status"] == "CONNECTED"


def test_check_now_queues_both_checks_and_the_results_show(connected, fake_providers, fake_graph):
    fake_providers.revoke_key(VALID_KEYS["openai"])
    fake_graph.expire_token(VALID_TOKEN)
    response = api_client(connected.admin).post(CHECK_API)
    assert response.status_code == 202
    assert response.json()["queued"] == ["ai", "whatsapp"]
    # Tests run tasks inline: the results are in already.
    ai = api_client(connected.member).get("/api/settings/ai-config").json()["health"]
    assert ai["status"] == "failing" and ai["error_code"] == "invalid_api_key"
    assert "did not accept this API key" in ai["message"]
    whatsapp = api_client(connected.member).get("/api/settings/whatsapp-meta").json()["health"]
    assert whatsapp["status"] == "failing" and whatsapp["error_code"] == "token_expired"


def test_check_now_is_for_owners_and_admins_of_the_organization(connected):
    assert api_client(connected.member).post(CHECK_API).status_code == 403
    assert api_client(connected.outsider, connected.org).post(CHECK_API).status_code in (403, 404)
    assert api_client().post(CHECK_API).status_code == 401
    assert api_client(connected.owner).post(CHECK_API).status_code == 202


def test_check_now_with_nothing_stored_queues_nothing(team):
    response = api_client(team.owner).post(CHECK_API)
    assert response.status_code == 202 and response.json()["queued"] == []


def test_check_now_is_rate_limited(connected, settings):
    settings.AI_KEY_TEST_RATE = "2/min"
    client = api_client(connected.owner)
    assert [client.post(CHECK_API).status_code for _ in range(3)] == [202, 202, 429]


def needs_attention(team, fake_providers):
    fake_providers.revoke_key(VALID_KEYS["openai"])
    for _ in range(2):
        api_client(team.owner).post(CHECK_API)
    assert AIConfig.objects.get(organization=team.org).health_status == "needs_attention"


def test_the_banner_shows_to_owners_and_admins_on_every_page(connected, fake_providers):
    needs_attention(connected, fake_providers)
    for user in (connected.owner, connected.admin):
        for url in ("/", "/settings/", "/members/", "/messages/"):
            page = page_client(user).get(url).content.decode()
            assert "AI provider needs attention" in page, url
            assert "did not accept this API key" in page
            assert VALID_KEYS["openai"] not in page
    assert "needs attention" not in page_client(connected.member).get("/").content.decode()
    assert "needs attention" not in page_client(connected.outsider).get("/").content.decode()


def test_saving_a_working_key_clears_the_banner(connected, fake_providers):
    needs_attention(connected, fake_providers)
    ai_services.ai_config_save(
        membership=connected.membership(connected.admin),
        provider="openai",
        api_key=NEW_KEYS["openai"],
    )
    assert "needs attention" not in page_client(connected.owner).get("/").content.decode()


def test_the_settings_page_shows_health_and_checks_now(connected, fake_providers):
    client = page_client(connected.admin)
    page = client.get("/settings/").content.decode()
    assert "Check now" in page and "Health:" in page and "working" in page
    assert "2000 people per 24 hours" not in page
    fake_providers.revoke_key(VALID_KEYS["openai"])
    response = client.post("/settings/health/check/")
    assert response.status_code == 302
    page = client.get("/settings/").content.decode()
    assert "failing" in page and "did not accept this API key" in page
    assert "2000 people per 24 hours" in page
    assert 'http-equiv="refresh"' not in page  # the results are in: no more waiting


def test_members_get_no_check_now(connected):
    page = page_client(connected.member).get("/settings/").content.decode()
    assert "Check now" not in page
    assert page_client(connected.member).post("/settings/health/check/").status_code == 403


def test_the_page_waits_for_results_still_out(connected):
    client = page_client(connected.owner)
    session = client.session
    from django.utils import timezone

    session["health_check_requested_at"] = timezone.now().isoformat()
    session.save()
    page = client.get("/settings/").content.decode()
    assert 'http-equiv="refresh"' in page and "Checking…" in page


def test_the_token_expiry_warning_shows_in_the_banner(connected):
    from datetime import timedelta

    from django.utils import timezone

    WhatsAppConfig.objects.update(token_expires_at=timezone.now() + timedelta(days=3))
    page = page_client(connected.owner).get("/").content.decode()
    assert "The WhatsApp access token expires on" in page
    assert "expires on" not in page_client(connected.member).get("/").content.decode()


def test_the_banner_says_when_the_token_expired_already(connected):
    WhatsAppConfig.objects.update(token_expires_at=timezone.now() - timedelta(hours=2))
    page = page_client(connected.admin).get("/").content.decode()
    assert "The WhatsApp access token expired on" in page
    assert "expires on" not in page and "before then" not in page


def whatsapp_rounds(count):
    for _ in range(count):
        WhatsAppConfig.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
        whatsapp_tasks.whatsapp_health_round()


def test_the_banner_shows_an_expired_whatsapp_token_until_a_working_one_is_saved(
    connected, fake_graph
):
    fake_graph.expire_token(VALID_TOKEN)
    whatsapp_rounds(1)
    assert "needs attention" not in page_client(connected.owner).get("/").content.decode()
    whatsapp_rounds(1)
    for user in (connected.owner, connected.admin):
        page = page_client(user).get("/settings/").content.decode()
        assert "WhatsApp (Meta Cloud API) needs attention" in page
        assert "expired or was revoked" in page
        assert VALID_TOKEN not in page
    assert "needs attention" not in page_client(connected.member).get("/").content.decode()
    whatsapp_services.whatsapp_config_save(
        membership=connected.membership(connected.admin),
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=NEW_TOKEN,
    )
    assert "needs attention" not in page_client(connected.owner).get("/").content.decode()


def test_check_now_run_twice_counts_one_failure(connected, fake_providers, fake_graph):
    fake_providers.revoke_key(VALID_KEYS["openai"])
    fake_graph.expire_token(VALID_TOKEN)
    queued = []
    capture = HUEY.signal(signals.SIGNAL_ENQUEUED)(lambda signal, task: queued.append(task))
    try:
        assert api_client(connected.admin).post(CHECK_API).status_code == 202
    finally:
        HUEY.disconnect_signal(capture)
    assert queued
    for task in queued:
        task.execute()  # the same task once more (a retry after a partial run, a redelivery)
    ai = AIConfig.objects.get(organization=connected.org)
    whatsapp = WhatsAppConfig.objects.get(organization=connected.org)
    assert (ai.consecutive_auth_failures, ai.health_status) == (1, "failing")
    assert (whatsapp.consecutive_auth_failures, whatsapp.health_status) == (1, "failing")


@pytest.mark.django_db(transaction=True)
def test_check_now_results_arrive_promptly_through_a_real_consumer(
    connected, fake_providers, fake_graph, huey_consumer
):
    # Slow enough answers that the two checks would overlap if they ran at once.
    fake_providers.generation_delay = 0.3
    fake_graph.delay = 0.3
    requested = timezone.now()
    started = time.monotonic()
    assert api_client(connected.admin).post(CHECK_API).status_code == 202
    # Idle includes retries scheduled for later: a check that collided with the other one and
    # was put off would keep the consumer busy past the bound. (Polling the rows meanwhile
    # would meet SQLite's shared-cache table locks.)
    huey_consumer.wait_idle(timeout=20)
    assert time.monotonic() - started < 5, "both results within 5 seconds"
    assert huey_consumer.errors() == []
    checked = [
        config.last_checked_at for config in (AIConfig.objects.get(), WhatsAppConfig.objects.get())
    ]
    assert all(when >= requested for when in checked)
    ai = api_client(connected.member).get("/api/settings/ai-config").json()["health"]
    whatsapp = api_client(connected.member).get("/api/settings/whatsapp-meta").json()["health"]
    assert ai["status"] == whatsapp["status"] == "ok"
