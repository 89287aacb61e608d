import threading

import pytest
from django.test import Client

from common.throttles import parse_rate, rate_limit_hit
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS

pytestmark = pytest.mark.django_db


def test_it_parses_rates():
    assert parse_rate("10/min") == (10, 60)
    assert parse_rate("3/s") == (3, 1)
    assert parse_rate("100/hour") == (100, 3600)


def test_it_allows_exactly_the_limit_under_a_burst():
    # Run on the suite's cache: local memory, or Redis in CI's PostgreSQL run.
    allowed = []
    start = threading.Barrier(30)

    def hit():
        start.wait()
        allowed.append(rate_limit_hit(scope="burst", ident="user:1", rate="10/min") is None)

    threads = [threading.Thread(target=hit) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 10


def test_it_tells_how_long_to_wait():
    for _ in range(2):
        assert rate_limit_hit(scope="wait", ident="x", rate="2/hour") is None
    wait = rate_limit_hit(scope="wait", ident="x", rate="2/hour")
    assert 0 < wait <= 3600


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_limits_key_tests_from_the_page_like_the_api(team, fake_providers, settings, api):
    settings.AI_KEY_TEST_RATE = "3/min"
    client = client_for(team.owner)
    data = {
        "provider": "openai",
        "api_key": VALID_KEYS["openai"],
        "model": "",
        "base_url": "",
        "action": "test",
    }
    assert client.post("/settings/ai/", data).status_code == 200
    assert (
        api(team.owner)
        .post(
            "/api/settings/ai-config/test",
            {"provider": "openai", "api_key": VALID_KEYS["openai"]},
            format="json",
        )
        .status_code
        == 200
    )
    assert client.post("/settings/ai/", data).status_code == 200
    refused = client.post("/settings/ai/", data)
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert len(fake_providers.requests_for("openai")) == 3 * 2  # generation + listing each


def test_it_limits_whatsapp_tests_from_the_page(team, fake_graph, settings):
    settings.AI_KEY_TEST_RATE = "1/min"
    client = client_for(team.owner)
    data = {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": WABA_ID,
        "access_token": VALID_TOKEN,
        "app_secret": "",
        "action": "test",
    }
    assert client.post("/settings/whatsapp/", data).status_code == 200
    assert client.post("/settings/whatsapp/", data).status_code == 429


def test_it_limits_drafts_from_the_composer(team, fake_providers, settings, api):
    api(team.owner).put(
        "/api/settings/ai-config",
        {"provider": "openai", "api_key": VALID_KEYS["openai"]},
        format="json",
    )
    settings.MESSAGES_RATE = "2/min"
    client = client_for(team.member)
    data = {"action": "draft", "prompt": "Hello", "tone": "warm", "language": ""}
    assert client.post("/messages/", data).status_code == 200
    assert client.post("/messages/", data).status_code == 200
    assert client.post("/messages/", data).status_code == 429
    assert (
        api(team.member).post("/api/messages/generate", {"prompt": "Hi"}, format="json").status_code
        == 429
    )


def test_it_answers_400_to_an_unknown_composer_action(team):
    assert client_for(team.member).post("/messages/", {"action": "explode"}).status_code == 400


def test_it_counts_only_requests_that_reach_the_provider(team, fake_providers, settings, api):
    settings.AI_KEY_TEST_RATE = "1/min"
    client = api(team.owner)
    for _ in range(3):
        assert client.get("/api/settings/ai-config").status_code == 200
        assert client.delete("/api/settings/ai-config").status_code == 204
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    assert client.put("/api/settings/ai-config", payload, format="json").status_code == 200
    assert client.post("/api/settings/ai-config/test", payload, format="json").status_code == 429
