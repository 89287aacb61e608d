import threading
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory, override_settings

from common import throttles
from common.throttles import parse_rate, rate_limit_hit, rate_limits_hit
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from organizations.request_context import client_ip

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


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
    # The window is the hour plus the current slot (a tenth of it): never more than 2 an hour.
    assert 3600 <= wait <= 3600 + 360


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


# --- the sliding window --------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, set by the test (a window edge is then certain, not luck)."""

    class Clock:
        now = 1_800_000_000.0 - 0.5  # half a second before a minute boundary

    monkeypatch.setattr(throttles.time, "time", lambda: Clock.now)
    return Clock


def test_it_does_not_start_afresh_at_a_window_edge(clock):
    assert rate_limit_hit(scope="edge", ident="u", rate="1/min") is None
    clock.now += 1  # the next minute has begun
    assert rate_limit_hit(scope="edge", ident="u", rate="1/min") is not None


def test_it_gives_a_burst_at_the_edge_the_rate_not_twice_the_rate(clock):
    before = [rate_limit_hit(scope="burst-edge", ident="u", rate="10/min") for _ in range(10)]
    clock.now += 1
    after = [rate_limit_hit(scope="burst-edge", ident="u", rate="10/min") for _ in range(10)]
    assert before.count(None) == 10 and after.count(None) == 0


def test_it_allows_again_once_the_old_uses_leave_the_window(clock):
    assert rate_limit_hit(scope="slide", ident="u", rate="2/min") is None
    clock.now += 30
    assert rate_limit_hit(scope="slide", ident="u", rate="2/min") is None
    wait = rate_limit_hit(scope="slide", ident="u", rate="2/min")
    assert wait is not None and 30 <= wait <= 36
    clock.now += wait
    assert rate_limit_hit(scope="slide", ident="u", rate="2/min") is None


def test_it_does_not_count_refused_uses(clock):
    assert rate_limit_hit(scope="refused", ident="u", rate="1/min") is None
    for _ in range(5):
        assert rate_limit_hit(scope="refused", ident="u", rate="1/min") is not None
    clock.now += 67  # the first use has left; the five refusals never counted
    assert rate_limit_hit(scope="refused", ident="u", rate="1/min") is None


def test_it_counts_nothing_when_one_of_several_limits_refuses():
    assert rate_limit_hit(scope="multi", ident="org:1", rate="1/min") is None
    assert rate_limits_hit([("multi", "user:1", "1/min"), ("multi", "org:1", "1/min")])
    # user:1 was not charged for the refused use.
    assert rate_limit_hit(scope="multi", ident="user:1", rate="1/min") is None


def test_it_accepts_any_characters_in_an_ident():
    for ident in ["a b\nc", "\ud800", "x" * 1000, "\x00"]:
        assert rate_limit_hit(scope="idents", ident=ident, rate="1/min") is None
        assert rate_limit_hit(scope="idents", ident=ident, rate="1/min") is not None


DATABASE_CACHE = {"default": {"BACKEND": "common.cache.DatabaseCache", "LOCATION": "django_cache"}}


@pytest.mark.django_db(transaction=True)
def test_it_allows_exactly_the_limit_under_a_burst_with_the_database_cache():
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("in-memory test database: see common/tests/test_sqlite_file.py")
    with override_settings(CACHES=DATABASE_CACHE):
        allowed = []
        start = threading.Barrier(12)

        def hit():
            from django.db import connection

            start.wait()
            try:
                allowed.append(rate_limit_hit(scope="db", ident="u", rate="5/min") is None)
            finally:
                connection.close()

        threads = [threading.Thread(target=hit) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(allowed) == 12 and sum(allowed) == 5
        caches["default"].clear()


@pytest.mark.django_db(transaction=True)
def test_it_takes_over_an_expired_database_cache_entry_once():
    with override_settings(CACHES=DATABASE_CACHE):
        cache = caches["default"]
        assert cache.add("lease", "a", timeout=-1) is True  # stored already expired
        assert cache.add("lease", "b", timeout=60) is True
        assert cache.add("lease", "c", timeout=60) is False
        assert cache.get("lease") == "b"
        cache.set("n", 1)
        assert cache.incr("n", 2) == 3
        with pytest.raises(ValueError):
            cache.incr("missing")
        cache.clear()


# --- client address ------------------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_it_ignores_x_forwarded_for_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


def test_it_takes_the_right_most_untrusted_forwarded_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    # The client made up the first entry; the proxies appended the rest.
    request = request_from("10.0.0.5", "1.1.1.1, 203.0.113.9, 192.0.2.1, 10.1.2.3")
    assert client_ip(request) == "203.0.113.9"


def test_it_does_not_believe_x_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_it_copes_with_ports_ipv6_and_garbage_in_x_forwarded_for(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1", "2001:db8::/32"]
    assert client_ip(request_from("10.0.0.1", "[2001:db9::7]:443")) == "2001:db9::7"
    assert client_ip(request_from("10.0.0.1", "203.0.113.9:5123")) == "203.0.113.9"
    assert client_ip(request_from("10.0.0.1", "not-an-address")) == "10.0.0.1"
    assert client_ip(request_from("10.0.0.1", "")) == "10.0.0.1"
    assert client_ip(request_from("10.0.0.1", "2001:db8::5")) == "2001:db8::5"  # all trusted


def test_it_limits_key_tests_per_client_address_across_accounts(
    team, fake_providers, settings, api
):
    """New accounts and new organizations do not reset the limit: the address counts too."""
    settings.AI_KEY_TEST_RATE = "2/min"
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    answers = [
        api(user).post("/api/settings/ai-config/test", payload, format="json", REMOTE_ADDR=ip)
        for user, ip in [
            (team.owner, "203.0.113.5"),
            (team.outsider, "203.0.113.5"),
            (team.admin, "203.0.113.6"),  # same organization as the owner, other address
            (team.outsider, "203.0.113.5"),
        ]
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[3]
    assert refused.json()["error_code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_it_limits_key_tests_per_forwarded_address_behind_a_trusted_proxy(
    team, fake_providers, settings, api
):
    settings.AI_KEY_TEST_RATE = "1/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}

    def test_from(user, forwarded):
        return api(user).post(
            "/api/settings/ai-config/test",
            payload,
            format="json",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert test_from(team.owner, "203.0.113.5").status_code == 200
    # Another client behind the same proxy is not held back by the first one...
    assert test_from(team.outsider, "203.0.113.6").status_code == 200
    # ...and a made-up left-most entry does not buy a fresh count.
    assert test_from(team.outsider, "1.2.3.4, 203.0.113.6").status_code == 429


def test_it_exposes_retry_after_to_the_frontend(team, fake_providers, settings, api):
    settings.AI_KEY_TEST_RATE = "1/min"
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    client = api(team.owner)
    client.post("/api/settings/ai-config/test", payload, format="json")
    refused = client.post(
        "/api/settings/ai-config/test",
        payload,
        format="json",
        HTTP_ORIGIN="https://app.example.org",
    )
    assert refused.status_code == 429
    assert "retry-after" in refused["Access-Control-Expose-Headers"].lower()


# --- the cache is down ---------------------------------------------------------------------------

REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_it_answers_503_to_limited_api_actions_when_the_cache_is_down(team, fake_providers, api):
    client = api(team.owner)
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    with override_settings(CACHES=REDIS_DOWN):
        refused = client.post("/api/settings/ai-config/test", payload, format="json")
        assert refused.status_code == 503
        assert refused.json()["error_code"] == "temporarily_unavailable"
        assert int(refused["Retry-After"]) > 0
        # Reads do not need the cache.
        assert client.get("/api/settings/ai-config").status_code == 200
        assert client.get("/api/me").status_code == 200
    assert not fake_providers.requests_for("openai")


def test_it_shows_a_clear_page_when_the_cache_is_down(team, fake_providers):
    client = client_for(team.owner)
    data = {"provider": "openai", "api_key": VALID_KEYS["openai"], "action": "test"}
    with override_settings(CACHES=REDIS_DOWN):
        refused = client.post("/settings/ai/", data)
        assert refused.status_code == 503
        assert "try again" in refused.content.decode()
        assert int(refused["Retry-After"]) > 0
        assert client.get("/settings/").status_code == 200


def test_it_says_the_wait_with_the_right_plural():
    assert throttles.too_many_message(1).endswith("Try again in 1 second.")
    assert throttles.too_many_message(12).endswith("Try again in 12 seconds.")
