"""The bulkhead on outbound calls: a cap per process and per organization (across processes,
in the shared cache, with leases that expire), answered at once with 429 `busy`."""

import threading
import time
from contextlib import contextmanager

import pytest
from django.test import Client

from common import http
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS

pytestmark = pytest.mark.django_db

TEST_URL = "/api/settings/ai-config/test"
PAYLOAD = {"provider": "openai", "api_key": VALID_KEYS["openai"]}


@contextmanager
def hanging_calls(fake_providers, count: int, organization_id=None):
    """`count` calls hanging on the fake provider, each holding its outbound slot the way a
    key test in another request thread would."""
    fake_providers.set_scenario("openai", "hang")
    fake_providers.hang_seconds = 30
    entered = threading.Semaphore(0)

    def call():
        with http.bulkhead(organization_id=organization_id):
            entered.release()
            try:
                http.send("POST", fake_providers.url + "/openai/v1/chat/completions", timeout=30)
            except http.OutboundError:
                pass

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert entered.acquire(timeout=10)
    time.sleep(0.2)  # the calls are on the wire
    try:
        yield
    finally:
        fake_providers.reset()  # releases the hanging answers
        for thread in threads:
            thread.join(timeout=10)


def test_it_answers_busy_at_once_beyond_the_organizations_cap(team, fake_providers, settings, api):
    settings.OUTBOUND_CONCURRENCY = 10
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 2
    with hanging_calls(fake_providers, 2, organization_id=team.org.pk):
        started = time.monotonic()
        refused = api(team.owner).post(TEST_URL, PAYLOAD, format="json")
        assert time.monotonic() - started < 1
        assert refused.status_code == 429
        assert refused.json()["error_code"] == "busy"
        assert int(refused["Retry-After"]) > 0
        assert not [r for r in fake_providers.requests_for("openai") if r.path.endswith("models")]
        # Another organization has slots of its own, and reads never need one.
        fake_providers.set_scenario("openai", "ok")
        other = api(team.outsider).post(TEST_URL, PAYLOAD, format="json", REMOTE_ADDR="10.9.9.9")
        assert other.status_code == 200 and other.json()["success"] is True
        assert api(team.member).get("/api/settings/ai-config").status_code == 200


def test_it_answers_busy_beyond_the_process_cap(team, fake_providers, settings, api):
    settings.OUTBOUND_CONCURRENCY = 2
    with hanging_calls(fake_providers, 2):
        refused = api(team.outsider).post(TEST_URL, PAYLOAD, format="json")
        assert refused.status_code == 429 and refused.json()["error_code"] == "busy"
        assert api(team.owner).get("/api/me").status_code == 200
    # Once the calls are answered, the slots come back.
    assert api(team.outsider).post(TEST_URL, PAYLOAD, format="json").status_code == 200


def test_it_caps_calls_made_outside_a_request_too(fake_providers, settings):
    """A task consumer calls through send() without a service's bulkhead: it takes a process
    slot of its own."""
    settings.OUTBOUND_CONCURRENCY = 1
    with hanging_calls(fake_providers, 1), pytest.raises(http.Busy):
        http.send("GET", fake_providers.url + "/openai/v1/models", timeout=2)


def test_it_frees_the_slots_of_a_process_that_died(team, settings):
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 1
    settings.OUTBOUND_LEASE_SECONDS = 1
    # A process took the organization's only slot and was killed before giving it back.
    assert http._take_org_lease(team.org.pk)
    with pytest.raises(http.Busy), http.bulkhead(organization_id=team.org.pk):
        pass
    time.sleep(1.5)
    with http.bulkhead(organization_id=team.org.pk):
        pass


def test_it_gives_slots_back_when_the_call_fails(team, settings):
    settings.OUTBOUND_CONCURRENCY = 1
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 1
    for _ in range(3):
        with pytest.raises(ValueError), http.bulkhead(organization_id=team.org.pk):
            raise ValueError("the provider answered garbage")
    with http.bulkhead(organization_id=team.org.pk):
        pass


def test_it_shows_busy_on_the_settings_page(team, fake_providers, fake_graph, settings):
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 1
    client = Client()
    client.force_login(team.owner)
    with hanging_calls(fake_providers, 1, organization_id=team.org.pk):
        data = {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": "",
            "action": "test",
        }
        refused = client.post("/settings/whatsapp/", data)
        assert refused.status_code == 429
        assert "Try again in a few seconds" in refused.content.decode()
