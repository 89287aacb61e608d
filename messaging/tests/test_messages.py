import json
import logging

import pytest
from django.test import Client

from aiconfig.models import AIConfig
from conftest import api_client
from devtools.fakes.graph import NO_PERMISSION_TOKEN, PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from messaging.models import MessageRecord
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db

GENERATE = "/api/messages/generate"
SEND = "/api/messages/send"
APP_SECRET = "77aa66bb55cc44dd33ee22ff11009988"


@pytest.fixture
def configured(team, fake_providers, fake_graph):
    """Grace Church uses OpenAI and the fake's WhatsApp number; Hope Chapel uses Groq."""
    owner = api_client(team.owner)
    assert (
        owner.put(
            "/api/settings/ai-config",
            {"provider": "openai", "api_key": VALID_KEYS["openai"]},
            format="json",
        ).status_code
        == 200
    )
    assert (
        owner.put(
            "/api/settings/whatsapp-meta",
            {
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": WABA_ID,
                "access_token": VALID_TOKEN,
                "app_secret": APP_SECRET,
            },
            format="json",
        ).status_code
        == 200
    )
    assert (
        api_client(team.outsider)
        .put(
            "/api/settings/ai-config",
            {"provider": "groq", "api_key": VALID_KEYS["groq"]},
            format="json",
        )
        .status_code
        == 200
    )
    fake_providers.requests.clear()
    fake_graph.requests.clear()
    return team


# --- drafting ------------------------------------------------------------------------------------


def test_it_drafts_with_the_organizations_own_key(configured, fake_providers):
    response = api_client(configured.member).post(
        GENERATE,
        {"prompt": "Invite everyone to the Easter service", "tone": "joyful", "language": "es"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == "OK"
    assert body["provider"] == "openai"
    assert body["model"] == "gpt-5.4-mini"
    assert set(body["usage"]) == {"input_tokens", "output_tokens"}
    upstream = fake_providers.requests_for("openai")
    assert len(upstream) == 1
    assert upstream[0].headers["authorization"] == f"Bearer {VALID_KEYS['openai']}"
    messages = upstream[0].json["messages"]
    assert messages[0]["role"] == "system" and "WhatsApp" in messages[0]["content"]
    assert "Easter" in messages[-1]["content"] and "joyful" in messages[-1]["content"]
    assert not fake_providers.requests_for("groq")


def test_it_drafts_for_another_organization_with_that_organizations_key(configured, fake_providers):
    assert (
        api_client(configured.outsider)
        .post(GENERATE, {"prompt": "Hello"}, format="json")
        .status_code
        == 200
    )
    assert (
        fake_providers.requests_for("groq")[0].headers["authorization"]
        == f"Bearer {VALID_KEYS['groq']}"
    )
    assert not fake_providers.requests_for("openai")


def test_it_answers_409_when_ai_is_not_configured(team):
    response = api_client(team.member).post(GENERATE, {"prompt": "Hello"}, format="json")
    assert response.status_code == 409
    assert response.json()["error_code"] == "not_configured"


def test_it_reports_a_key_revoked_after_saving_and_marks_the_configuration(
    configured, fake_providers
):
    config = AIConfig.objects.get(organization=configured.org)
    config.api_key = "sk-proj-revokedAfterSaving0000000000rEvK"
    config.save()
    response = api_client(configured.member).post(GENERATE, {"prompt": "Hello"}, format="json")
    assert response.status_code == 502
    assert response.json()["error_code"] == "invalid_api_key"
    assert "revoked" not in response.json()["error"]
    config.refresh_from_db()
    assert config.last_test_ok is False and config.last_error_code == "invalid_api_key"
    assert MessageRecord.objects.get(kind="draft").error_code == "invalid_api_key"


@pytest.mark.parametrize(
    "scenario, code",
    [("no_credit", "insufficient_quota"), ("hang", "timeout"), ("garbage", "invalid_response")],
)
def test_it_classifies_draft_failures_like_the_key_test(configured, fake_providers, scenario, code):
    fake_providers.set_scenario("openai", scenario)
    response = api_client(configured.member).post(GENERATE, {"prompt": "Hello"}, format="json")
    assert response.status_code == 502
    assert response.json()["error_code"] == code


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"prompt": ""},
        {"prompt": "x" * 4001},
        {"prompt": 42},
        {"prompt": "Hi", "tone": "angry"},
        {"prompt": "Hi", "language": "english please"},
    ],
)
def test_it_refuses_bad_draft_input(configured, fake_providers, payload):
    response = api_client(configured.member).post(GENERATE, payload, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]
    assert not fake_providers.requests


# --- sending -------------------------------------------------------------------------------------


def test_it_sends_from_the_organizations_own_number(configured, fake_graph):
    response = api_client(configured.member).post(
        SEND, {"to": "+1 650-555-1234", "text": "Blessings!"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["message_id"].startswith("wamid.")
    request = fake_graph.requests_to("send")[0]
    assert request.path.endswith(f"/{PHONE_NUMBER_ID}/messages")
    assert request.headers["Authorization"] == f"Bearer {VALID_TOKEN}"
    assert request.json["to"] == "16505551234" and request.json["text"]["body"] == "Blessings!"
    record = MessageRecord.objects.get(kind="send")
    assert record.message_id == body["message_id"] and record.user == configured.member
    assert record.text == "Blessings!" and record.status == "accepted"


def test_it_answers_409_when_whatsapp_is_not_configured(team):
    response = api_client(team.member).post(
        SEND, {"to": "+15551234567", "text": "Hi"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error_code"] == "not_configured"


@pytest.mark.parametrize(
    "to", ["5551234567", "+0123456789", "+1", "+1555123456789012", "+1555abc4567", 15551234567]
)
def test_it_refuses_an_invalid_number(configured, fake_graph, to):
    response = api_client(configured.member).post(SEND, {"to": to, "text": "Hi"}, format="json")
    assert response.status_code == 400
    assert "to" in response.json()["fields"]
    assert not fake_graph.requests


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097, None])
def test_it_refuses_an_invalid_text(configured, fake_graph, text):
    response = api_client(configured.member).post(
        SEND, {"to": "+15551234567", "text": text}, format="json"
    )
    assert response.status_code == 400
    assert not fake_graph.requests


@pytest.mark.parametrize(
    "scenario, code",
    [
        ("recipient_not_allowed", "recipient_not_allowed"),
        ("outside_window", "outside_window"),
        ("undeliverable", "undeliverable"),
        ("rate_limit", "rate_limited"),
        ("hang", "timeout"),
        ("missing_fields", "invalid_response"),
        ("server_error", "provider_error"),
    ],
)
def test_it_classifies_send_failures_and_never_reports_them_as_sent(
    configured, fake_graph, scenario, code
):
    fake_graph.scenario("send", scenario)
    response = api_client(configured.member).post(
        SEND, {"to": "+15551234567", "text": "Hi"}, format="json"
    )
    assert response.status_code == 502
    body = response.json()
    assert body["error_code"] == code and body["error"]
    assert "success" not in body or body["success"] is False
    record = MessageRecord.objects.get(kind="send")
    assert record.ok is False and record.status == "rejected" and not record.message_id


def test_it_reports_a_token_without_permission_on_send(configured, fake_graph):
    config = WhatsAppConfig.objects.get(organization=configured.org)
    config.access_token = NO_PERMISSION_TOKEN
    config.save()
    response = api_client(configured.member).post(
        SEND, {"to": "+15551234567", "text": "Hi"}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["error_code"] == "permission_denied"


# --- history, status updates and usage -----------------------------------------------------------


def deliver_status(config, message_id, status, errors=None):
    item = {
        "id": message_id,
        "status": status,
        "timestamp": "1764081000",
        "recipient_id": "15551234567",
    }
    if errors:
        item["errors"] = errors
    value = {"metadata": {"phone_number_id": config.phone_number_id}, "statuses": [item]}
    body = json.dumps({"entry": [{"changes": [{"value": value}]}]}).encode()
    return Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )


def test_it_updates_the_history_from_webhook_status_updates(configured, fake_graph):
    message_id = (
        api_client(configured.member)
        .post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
        .json()["message_id"]
    )
    config = WhatsAppConfig.objects.get(organization=configured.org)
    for status in ("sent", "read", "delivered"):  # out of order, as Meta may deliver them
        assert deliver_status(config, message_id, status).status_code == 200
    rows = api_client(configured.member).get("/api/messages").json()
    assert rows["count"] == 1
    assert rows["results"][0]["status"] == "read"
    assert rows["results"][0]["to"] == "+15551234567"
    page = Client()
    page.force_login(configured.member)
    assert "Read" in page.get("/messages/").content.decode()


@pytest.mark.parametrize(
    "statuses, final",
    [
        (["read", "rejected"], "read"),  # "rejected" is ours, never Meta's
        (["read", "accepted"], "read"),
        (["delivered", "sent"], "delivered"),
        (["read", "delivered"], "read"),
        (["read", "deleted", "warning", "READ", ""], "read"),  # unknown: ignored
        (["sent", "failed"], "failed"),
        (["read", "failed"], "failed"),  # failed from any state
        (["failed", "read"], "failed"),
    ],
)
def test_it_only_moves_a_status_forward(configured, fake_graph, statuses, final):
    message_id = (
        api_client(configured.member)
        .post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
        .json()["message_id"]
    )
    config = WhatsAppConfig.objects.get(organization=configured.org)
    for status in statuses:
        assert deliver_status(config, message_id, status).status_code == 200
    assert MessageRecord.objects.get(message_id=message_id).status == final


def test_it_records_a_failed_delivery_with_its_code(configured, fake_graph):
    message_id = (
        api_client(configured.member)
        .post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
        .json()["message_id"]
    )
    config = WhatsAppConfig.objects.get(organization=configured.org)
    deliver_status(
        config, message_id, "failed", errors=[{"code": 131026, "title": "Message undeliverable"}]
    )
    record = MessageRecord.objects.get(message_id=message_id)
    assert record.status == "failed" and record.status_error_code == 131026


def test_it_applies_a_status_that_arrived_before_the_send_returned(configured, fake_graph):
    # Meta's webhook can beat our own answer: the status is stored before the message row.
    config = WhatsAppConfig.objects.get(organization=configured.org)
    fake_graph.next_message_id = "wamid.RACEDAHEAD0001"
    assert deliver_status(config, "wamid.RACEDAHEAD0001", "delivered").status_code == 200
    response = api_client(configured.member).post(
        SEND, {"to": "+15551234567", "text": "Hi"}, format="json"
    )
    assert response.json()["message_id"] == "wamid.RACEDAHEAD0001"
    assert MessageRecord.objects.get(message_id="wamid.RACEDAHEAD0001").status == "delivered"


def test_it_keeps_histories_apart(configured, fake_graph):
    api_client(configured.member).post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
    assert api_client(configured.outsider).get("/api/messages").json()["count"] == 0
    assert api_client(configured.outsider, configured.org).get("/api/messages").status_code == 404


def test_it_counts_this_months_usage(configured, fake_providers, fake_graph):
    client = api_client(configured.member)
    client.post(GENERATE, {"prompt": "Hello"}, format="json")
    client.post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
    fake_graph.scenario("send", "undeliverable")
    client.post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
    usage = client.get("/api/messages/usage").json()
    assert usage["drafts"] == 1 and usage["sends"] == 1 and usage["failures"] == 1
    assert usage["tokens"]["input"] > 0 and usage["tokens"]["output"] > 0
    assert api_client(configured.outsider).get("/api/messages/usage").json()["sends"] == 0


def test_it_requires_membership_for_every_message_endpoint(configured):
    for method, url in (
        ("post", GENERATE),
        ("post", SEND),
        ("get", "/api/messages"),
        ("get", "/api/messages/usage"),
    ):
        assert getattr(api_client(), method)(url).status_code == 401
        assert (
            getattr(api_client(configured.outsider, configured.org), method)(url).status_code == 404
        )


def test_it_never_logs_keys_tokens_or_secrets_while_messaging(
    configured, fake_providers, fake_graph, caplog
):
    caplog.set_level(logging.DEBUG)
    client = api_client(configured.member)
    client.post(GENERATE, {"prompt": "Hello"}, format="json")
    client.post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
    fake_graph.scenario("send", "server_error")
    client.post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")
    for secret in (VALID_KEYS["openai"], VALID_TOKEN, APP_SECRET):
        assert secret not in caplog.text


# --- odd values from upstream ------------------------------------------------------------------


@pytest.mark.parametrize("odd", [-1, 10**12])
def test_it_drafts_when_the_provider_reports_token_usage_no_column_can_hold(
    configured, fake_providers, odd
):
    # -1 breaks the PositiveIntegerField check; 10**12 is out of range on PostgreSQL.
    fake_providers.usage_override = {"prompt_tokens": odd}
    response = api_client(configured.member).post(GENERATE, {"prompt": "Hello"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["usage"] == {"input_tokens": None, "output_tokens": 1}
    record = MessageRecord.objects.get(kind="draft")
    assert record.ok is True and record.input_tokens is None and record.output_tokens == 1


def test_it_does_not_record_as_sent_a_message_id_too_long_to_be_metas(configured, fake_graph):
    fake_graph.next_message_id = "wamid." + "A" * 195  # 201 characters
    response = api_client(configured.member).post(
        SEND, {"to": "+15551234567", "text": "Hi"}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["error_code"] == "invalid_response"
    record = MessageRecord.objects.get(kind="send")
    assert record.ok is False and record.status == "rejected" and not record.message_id
