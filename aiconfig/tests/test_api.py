import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aiconfig.models import AIConfig
from common.encryption import UNREADABLE, cipher_for
from conftest import api_client
from devtools.fakes.providers import VALID_KEYS
from organizations.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/settings/ai-config"
TEST_URL = "/api/settings/ai-config/test"
OPENAI_KEY = VALID_KEYS["openai"]


def put(user, payload, org=None):
    return api_client(user, org).put(URL, payload, format="json")


def save_openai(team, key=OPENAI_KEY, model=None):
    payload = {"provider": "openai", "api_key": key}
    if model:
        payload["model"] = model
    response = put(team.owner, payload)
    assert response.status_code == 200, response.content
    return response


# --- GET ---------------------------------------------------------------------------------------


def test_it_answers_not_configured(team):
    response = api_client(team.member).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "configured": False,
        "provider": None,
        "api_key_masked": None,
        "model": None,
        "base_url": None,
    }


def test_it_shows_the_configuration_masked_to_any_member(team, fake_providers):
    save_openai(team)
    body = api_client(team.member).get(URL).json()
    assert body["configured"] is True
    assert body["provider"] == "openai"
    assert body["api_key_masked"] == "***" + OPENAI_KEY[-4:]
    assert body["model"] == "gpt-5.4-mini"
    assert body["base_url"] is None
    assert body["last_test_ok"] is True and body["last_tested_at"]
    assert OPENAI_KEY not in str(body)


def test_it_reads_the_configuration_in_at_most_three_queries(team, fake_providers):
    save_openai(team)
    client = api_client(team.member)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert len(queries) <= 3


def test_it_hides_another_organizations_configuration(team, fake_providers):
    save_openai(team)
    assert api_client(team.outsider).get(URL).json()["configured"] is False
    assert api_client(team.outsider, team.org).get(URL).status_code == 404


def test_it_requires_authentication(team):
    assert api_client().get(URL).status_code == 401
    assert api_client().post(TEST_URL, {}, format="json").status_code == 401
    assert api_client().put(URL, {}, format="json").status_code == 401
    assert api_client().delete(URL).status_code == 401


# --- test ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "provider", ["openai", "gemini", "deepseek", "groq", "anthropic", "mistral", "openrouter"]
)
def test_it_tests_a_valid_key_of_every_provider_and_saves_nothing(team, fake_providers, provider):
    response = api_client(team.admin).post(
        TEST_URL, {"provider": provider, "api_key": VALID_KEYS[provider]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True, body
    assert body["provider"] == provider
    assert body["message"] == "API key is valid"
    assert body["response"] == "OK"
    assert body["models"]
    assert isinstance(body["latency_ms"], int)
    assert not AIConfig.objects.exists()
    # The key went upstream, to the provider's own fake.
    assert fake_providers.requests_for(provider)


def test_it_tests_a_custom_server_when_private_addresses_are_allowed(
    team, fake_providers, settings
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    response = api_client(team.owner).post(
        TEST_URL,
        {
            "provider": "custom",
            "api_key": VALID_KEYS["custom"],
            "base_url": fake_providers.base_urls()["CUSTOM_BASE_URL"],
            "model": "llama3.2",
        },
        format="json",
    )
    assert response.json()["success"] is True


def test_it_blocks_a_custom_server_on_a_private_address(team, fake_providers):
    response = api_client(team.owner).post(
        TEST_URL,
        {
            "provider": "custom",
            "api_key": VALID_KEYS["custom"],
            "base_url": fake_providers.base_urls()["CUSTOM_BASE_URL"],
        },
        format="json",
    )
    body = response.json()
    assert response.status_code == 200
    assert body["success"] is False and body["error_code"] == "blocked_address"
    assert not fake_providers.requests_for("custom")


@pytest.mark.parametrize(
    "provider, scenario, code",
    [
        ("openai", "no_credit", "insufficient_quota"),
        ("openai", "rate_limited", "rate_limited"),
        ("openai", "restricted", "permission_denied"),
        ("anthropic", "server_error", "provider_error"),
        ("gemini", "garbage", "invalid_response"),
        ("deepseek", "no_credit", "insufficient_quota"),
    ],
)
def test_it_classifies_provider_failures(team, fake_providers, provider, scenario, code):
    fake_providers.set_scenario(provider, scenario)
    body = (
        api_client(team.owner)
        .post(TEST_URL, {"provider": provider, "api_key": VALID_KEYS[provider]}, format="json")
        .json()
    )
    assert body["success"] is False
    assert body["error_code"] == code
    assert body["error"]
    assert VALID_KEYS[provider] not in str(body)


def test_it_reports_an_invalid_key_without_echoing_it(team, fake_providers, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-proj-WRONGkeyWRONGkeyWRONGkey0000Zz9Q"
    body = (
        api_client(team.owner)
        .post(TEST_URL, {"provider": "openai", "api_key": wrong}, format="json")
        .json()
    )
    assert body == {
        "success": False,
        "provider": "openai",
        "error": body["error"],
        "error_code": "invalid_api_key",
        "model": "gpt-5.4-mini",
        "latency_ms": body["latency_ms"],
    }
    assert wrong not in body["error"]
    assert wrong not in caplog.text


def test_it_reports_an_unknown_model(team, fake_providers):
    body = (
        api_client(team.owner)
        .post(
            TEST_URL,
            {"provider": "groq", "api_key": VALID_KEYS["groq"], "model": "no-such-model"},
            format="json",
        )
        .json()
    )
    assert body["error_code"] == "model_not_found"


def test_it_gives_up_on_a_hung_provider_with_timeout(team, fake_providers):
    fake_providers.set_scenario("mistral", "hang")
    body = (
        api_client(team.owner)
        .post(TEST_URL, {"provider": "mistral", "api_key": VALID_KEYS["mistral"]}, format="json")
        .json()
    )
    assert body["error_code"] == "timeout"


def test_it_tests_the_stored_key_when_none_is_given(team, fake_providers):
    save_openai(team)
    fake_providers.reset()
    body = api_client(team.admin).post(TEST_URL, {"provider": "openai"}, format="json").json()
    assert body["success"] is True
    sent = fake_providers.requests_for("openai")[0].headers["authorization"]
    assert sent == f"Bearer {OPENAI_KEY}"


def test_it_does_not_test_the_stored_key_with_another_provider(team, fake_providers):
    save_openai(team)
    fake_providers.reset()
    response = api_client(team.owner).post(TEST_URL, {"provider": "groq"}, format="json")
    assert response.status_code == 400
    assert "api_key" in response.json()["fields"]
    assert not fake_providers.requests


@pytest.mark.parametrize("who, status", [("member", 403), ("outsider", 404)])
def test_it_lets_only_managers_test_keys(team, fake_providers, who, status):
    org = team.org if who == "outsider" else None
    response = api_client(getattr(team, who), org).post(
        TEST_URL, {"provider": "openai", "api_key": OPENAI_KEY}, format="json"
    )
    assert response.status_code == status
    assert not fake_providers.requests


def test_it_throttles_key_tests_per_user_with_retry_after(team, fake_providers, settings):
    settings.AI_KEY_TEST_RATE = "3/min"
    client = api_client(team.owner)
    for _ in range(3):
        assert (
            client.post(
                TEST_URL, {"provider": "openai", "api_key": OPENAI_KEY}, format="json"
            ).status_code
            == 200
        )
    response = client.post(TEST_URL, {"provider": "openai", "api_key": OPENAI_KEY}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error_code"] == "throttled"


def test_it_throttles_key_tests_per_organization(team, fake_providers, settings):
    settings.AI_KEY_TEST_RATE = "3/min"
    payload = {"provider": "openai", "api_key": OPENAI_KEY}
    for user in (team.owner, team.owner, team.admin):
        assert api_client(user).post(TEST_URL, payload, format="json").status_code == 200
    assert api_client(team.admin).post(TEST_URL, payload, format="json").status_code == 429
    # Another organization, from another address, has its own budget.
    other = api_client(team.outsider).post(
        TEST_URL, payload, format="json", REMOTE_ADDR="198.51.100.20"
    )
    assert other.status_code == 200


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"provider": "skynet", "api_key": "k" * 20}, "provider"),
        ({"provider": 3, "api_key": "k" * 20}, "provider"),
        ({"provider": "openai", "api_key": 12345}, "api_key"),
        ({"provider": "openai", "api_key": ["a"]}, "api_key"),
        ({"provider": "openai", "api_key": "k" * 513}, "api_key"),
        ({"provider": "openai", "api_key": "sk-with space"}, "api_key"),
        ({"provider": "openai", "api_key": "sk-with\nnewline"}, "api_key"),
        ({"provider": "openai", "api_key": "sk-\x00null"}, "api_key"),
        ({"provider": "openai", "api_key": "sk-ok", "model": {"a": 1}}, "model"),
        ({"provider": "custom", "api_key": "k" * 20}, "base_url"),
        ({"provider": "custom", "api_key": "k" * 20, "base_url": "ftp://x.example/v1"}, "base_url"),
        ({"provider": "custom", "api_key": "k" * 20, "base_url": "not a url"}, "base_url"),
        (
            {"provider": "custom", "api_key": "k" * 20, "base_url": "http://u:p@x.example/"},
            "base_url",
        ),
        (
            {"provider": "custom", "api_key": "k" * 20, "base_url": "https://x.example/?key=s"},
            "base_url",
        ),
        (
            {"provider": "custom", "api_key": "k" * 20, "base_url": "https://x.example/v1#f"},
            "base_url",
        ),
        (
            {"provider": "openai", "api_key": "k" * 20, "base_url": "https://x.example/v1"},
            "base_url",
        ),
        ({}, "provider"),
    ],
)
def test_it_refuses_bad_input_with_field_errors_and_saves_nothing(
    team, fake_providers, payload, field
):
    for method, url in (("put", URL), ("post", TEST_URL)):
        response = getattr(api_client(team.owner), method)(url, payload, format="json")
        assert response.status_code == 400, (method, response.content)
        assert field in response.json()["fields"]
    assert not AIConfig.objects.exists()
    assert not fake_providers.requests


def test_it_refuses_a_body_that_is_not_json(team, fake_providers):
    response = api_client(team.owner).put(
        URL, data="provider=openai", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]
    response = api_client(team.owner).put(URL, data=b"[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert not AIConfig.objects.exists()


def test_it_requires_a_key_on_first_save(team, fake_providers):
    response = put(team.owner, {"provider": "openai"})
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert "api_key" in response.json()["fields"]


# --- PUT -----------------------------------------------------------------------------------------


def test_it_saves_a_valid_key_encrypted_and_answers_with_the_mask(team, fake_providers):
    response = save_openai(team)
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "AI configuration saved successfully"
    assert body["provider"] == "openai"
    assert body["api_key_masked"] == "***" + OPENAI_KEY[-4:]
    assert OPENAI_KEY not in response.content.decode()
    config = AIConfig.objects.get(organization=team.org)
    assert config.api_key == OPENAI_KEY
    assert config.updated_by == team.owner
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM aiconfig_aiconfig")
        raw = bytes(cursor.fetchone()[0])
    assert OPENAI_KEY.encode() not in raw
    assert cipher_for("test-only-cryptography-key-0123456789").decrypt(raw) == OPENAI_KEY


def test_it_refuses_to_save_an_invalid_key_and_changes_nothing(team, fake_providers):
    save_openai(team)
    before = AIConfig.objects.get()
    response = put(
        team.owner, {"provider": "openai", "api_key": "sk-proj-revokedrevokedrevoked0000"}
    )
    assert response.status_code == 400
    body = response.json()
    assert (
        body["success"] is False
        and body["error_code"] == "invalid_api_key"
        and body["provider"] == "openai"
    )
    after = AIConfig.objects.get()
    assert after.api_key == OPENAI_KEY and after.updated_at == before.updated_at


def test_it_keeps_the_stored_key_and_retests_it_with_a_new_model(team, fake_providers):
    save_openai(team)
    fake_providers.reset()
    response = put(team.admin, {"provider": "openai", "model": "gpt-5.5"})
    assert response.status_code == 200
    config = AIConfig.objects.get()
    assert config.model == "gpt-5.5" and config.api_key == OPENAI_KEY
    assert fake_providers.requests_for("openai")


def test_it_refuses_a_new_model_the_provider_does_not_have(team, fake_providers):
    save_openai(team)
    response = put(team.owner, {"provider": "openai", "model": "gpt-0"})
    assert response.json()["error_code"] == "model_not_found"
    assert AIConfig.objects.get().model == "gpt-5.4-mini"


def test_it_records_saves_and_deletes_in_the_audit_trail_without_the_key(team, fake_providers):
    save_openai(team)
    put(team.owner, {"provider": "openai", "model": "gpt-5.5"})
    assert api_client(team.owner).delete(URL).status_code == 204
    events = list(AuditEvent.objects.filter(action__startswith="ai_config").order_by("id"))
    assert [e.action for e in events] == [
        "ai_config.created",
        "ai_config.updated",
        "ai_config.deleted",
    ]
    assert all(e.actor == team.owner for e in events)
    assert events[0].metadata["api_key"] == "***" + OPENAI_KEY[-4:]
    assert events[1].metadata["model"] == "gpt-5.5"
    for event in events:
        assert OPENAI_KEY not in str(event.metadata)


@pytest.mark.parametrize("who, status", [("member", 403), ("outsider", 404)])
def test_it_lets_only_managers_save_or_delete(team, fake_providers, who, status):
    save_openai(team)
    org = team.org if who == "outsider" else None
    client = api_client(getattr(team, who), org)
    assert (
        client.put(
            URL, {"provider": "groq", "api_key": VALID_KEYS["groq"]}, format="json"
        ).status_code
        == status
    )
    assert client.delete(URL).status_code == status
    assert AIConfig.objects.get(organization=team.org).provider == "openai"


def test_it_keeps_organizations_apart(team, fake_providers):
    save_openai(team)
    response = put(team.outsider, {"provider": "groq", "api_key": VALID_KEYS["groq"]})
    assert response.status_code == 200
    assert AIConfig.objects.get(organization=team.org).api_key == OPENAI_KEY
    assert AIConfig.objects.get(organization=team.other_org).api_key == VALID_KEYS["groq"]
    assert api_client(team.outsider).delete(URL).status_code == 204
    assert AIConfig.objects.filter(organization=team.org).exists()


# --- unreadable stored key -----------------------------------------------------------------------


def test_it_reports_an_unreadable_stored_key_without_a_500(team, fake_providers, settings):
    save_openai(team)
    settings.SECRETS_ENCRYPTION_KEY = "a-different-key-after-a-botched-rotation"
    assert AIConfig.objects.get().api_key is UNREADABLE
    body = api_client(team.member).get(URL).json()
    assert body["configured"] is True
    assert body["key_status"] == "unreadable"
    assert body["api_key_masked"] is None
    assert "enter" in body["key_message"].lower()
    fake_providers.reset()
    test = api_client(team.owner).post(TEST_URL, {"provider": "openai"}, format="json")
    assert test.status_code == 400 and test.json()["error_code"] == "key_unreadable"
    save = put(team.owner, {"provider": "openai", "model": "gpt-5.5"})
    assert save.status_code == 400 and save.json()["error_code"] == "key_unreadable"
    assert not fake_providers.requests
    # Entering the key again repairs it.
    assert put(team.owner, {"provider": "openai", "api_key": OPENAI_KEY}).status_code == 200
    assert api_client(team.member).get(URL).json()["key_status"] == "ok"


def test_it_uses_the_operators_default_model_when_none_is_given(team, fake_providers, settings):
    settings.OPENAI_DEFAULT_MODEL = "gpt-5.5"
    body = (
        api_client(team.owner)
        .post(TEST_URL, {"provider": "openai", "api_key": OPENAI_KEY}, format="json")
        .json()
    )
    assert body["success"] is True and body["model"] == "gpt-5.5"
    assert fake_providers.requests_for("openai")[0].json["model"] == "gpt-5.5"


def test_it_never_sends_a_stored_custom_key_to_another_server(team, fake_providers, settings):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    server = fake_providers.base_urls()["CUSTOM_BASE_URL"]
    saved = put(
        team.owner, {"provider": "custom", "api_key": VALID_KEYS["custom"], "base_url": server}
    )
    assert saved.status_code == 200
    fake_providers.reset()
    elsewhere = server.replace("/custom/v1", "/openai/v1")  # "another server" the admin controls
    for method, url in (("post", TEST_URL), ("put", URL)):
        response = getattr(api_client(team.admin), method)(
            url, {"provider": "custom", "base_url": elsewhere}, format="json"
        )
        assert response.status_code == 400, method
        assert "api_key" in response.json()["fields"]
    assert not fake_providers.requests
    # The same server (trailing slash aside) may reuse the stored key.
    same = api_client(team.admin).post(
        TEST_URL, {"provider": "custom", "base_url": server + "/"}, format="json"
    )
    assert same.json()["success"] is True


@pytest.mark.parametrize("provider", ["openai", "gemini", "groq", "anthropic", "openrouter"])
def test_it_refuses_a_key_shorter_than_the_providers_before_calling_it(
    team, fake_providers, provider
):
    short = VALID_KEYS[provider][:20]
    for method in ("post", "put"):
        url = TEST_URL if method == "post" else "/api/settings/ai-config"
        response = getattr(api_client(team.owner), method)(
            url, {"provider": provider, "api_key": short}, format="json"
        )
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "invalid_api_key" and "api_key" in body["fields"]
        assert short not in response.content.decode()
    assert fake_providers.requests_for(provider) == []
    assert not AIConfig.objects.exists()


def test_it_takes_a_short_key_for_a_self_hosted_server(team, fake_providers, settings):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    base_url = fake_providers.base_urls()["CUSTOM_BASE_URL"]
    response = api_client(team.owner).post(
        TEST_URL, {"provider": "custom", "api_key": "short", "base_url": base_url}, format="json"
    )
    assert response.status_code == 200  # the server itself judges the key


def test_it_reads_the_settings_with_as_few_queries_as_the_profile(team, fake_providers):
    """The mask from its stored column: the read costs at most one query more than
    GET /api/me (the key itself)."""
    save_openai(team)
    client = api_client(team.member)
    with CaptureQueriesContext(connection) as me:
        assert client.get("/api/me").status_code == 200
    with CaptureQueriesContext(connection) as settings_read:
        response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["api_key_masked"] == "***" + OPENAI_KEY[-4:]
    # The user, the membership with its organization, then the key: an organization has a
    # main and a backup key, so the key cannot come with the membership's join.
    assert len(settings_read.captured_queries) == 3 <= len(me.captured_queries) + 1
