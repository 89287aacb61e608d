import json

import pytest
from django.test import Client

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from whatsapp.models import InboundMessage, StatusEvent, WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db

APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def config(team, fake_graph):
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": APP_SECRET,
        },
        format="json",
    )
    assert response.status_code == 200
    return WhatsAppConfig.objects.get(organization=team.org)


def url(config):
    return f"/webhooks/whatsapp/{config.webhook_id}/"


def status_payload(
    message_id="wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
    status="delivered",
    errors=None,
):
    item = {
        "id": message_id,
        "status": status,
        "timestamp": "1764081000",
        "recipient_id": "16505551234",
    }
    if errors:
        item["errors"] = errors
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550967852",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "statuses": [item],
                        },
                    }
                ],
            }
        ],
    }


def inbound_payload(message_id="wamid.INBOUND1"):
    payload = status_payload()
    value = payload["entry"][0]["changes"][0]["value"]
    del value["statuses"]
    value["messages"] = [
        {
            "from": "16505551234",
            "id": message_id,
            "timestamp": "1764081000",
            "type": "text",
            "text": {"body": "Amen!"},
        }
    ]
    return payload


def post(config, payload, *, secret=APP_SECRET, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    elif secret is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(app_secret=secret, body=body)
    return Client().post(url(config), data=body, content_type="application/json", **headers)


def test_it_answers_the_subscription_challenge(config):
    response = Client().get(
        url(config),
        {
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": config.webhook_verify_token,
        },
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": "TOKEN"},
        {"hub.challenge": "1"},
    ],
)
def test_it_refuses_a_wrong_subscription(config, params):
    params = {k: (config.webhook_verify_token if v == "TOKEN" else v) for k, v in params.items()}
    assert Client().get(url(config), params).status_code == 403


def test_it_answers_404_for_an_unknown_webhook(config):
    assert (
        Client().get("/webhooks/whatsapp/not-a-real-id/", {"hub.mode": "subscribe"}).status_code
        == 404
    )


def test_it_stores_a_signed_status_update(config):
    response = post(config, status_payload())
    assert response.status_code == 200
    event = StatusEvent.objects.get()
    assert event.organization == config.organization
    assert event.status == "delivered"
    assert event.occurred_at is not None


def test_it_stores_a_failed_status_with_its_error_code(config):
    post(
        config,
        status_payload(
            status="failed", errors=[{"code": 131047, "title": "Re-engagement message"}]
        ),
    )
    event = StatusEvent.objects.get()
    assert event.error_code == 131047


def test_it_stores_a_replayed_event_once(config):
    payload = status_payload()
    assert post(config, payload).status_code == 200
    assert post(config, payload).status_code == 200
    assert StatusEvent.objects.count() == 1
    post(config, inbound_payload())
    post(config, inbound_payload())
    assert InboundMessage.objects.get().text == "Amen!"


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha256=nothex", "", "sha1=abc"])
def test_it_refuses_a_wrong_signature_and_stores_nothing(config, signature):
    assert post(config, status_payload(), signature=signature).status_code == 403
    assert not StatusEvent.objects.exists()


def test_it_refuses_a_missing_signature(config):
    assert post(config, status_payload(), secret=None).status_code == 403
    assert not StatusEvent.objects.exists()


def test_it_refuses_a_signature_made_with_another_secret(config):
    assert (
        post(config, status_payload(), secret="another-apps-secret-000000000000").status_code == 403
    )


def test_it_refuses_deliveries_when_no_app_secret_is_stored(config):
    WhatsAppConfig.objects.filter(pk=config.pk).update(app_secret=b"")
    assert post(config, status_payload(), secret="").status_code == 403
    assert not StatusEvent.objects.exists()


def test_it_refuses_a_body_over_one_megabyte(config):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert post(config, None, raw=body).status_code == 413
    assert not StatusEvent.objects.exists()


def test_it_keeps_organizations_apart(config, team, fake_graph):
    other = WhatsAppConfig.objects.create(
        organization=team.other_org,
        phone_number_id="1",
        business_account_id="2",
        access_token="EAAother",
        app_secret="other-secret-0000000000000000000",
    )
    # Signed with the first organization's secret, sent to the other's URL: refused.
    assert post(other, status_payload()).status_code == 403
    assert post(config, status_payload()).status_code == 200
    assert StatusEvent.objects.get().organization == team.org


def test_it_accepts_a_signed_body_that_is_not_an_event(config):
    assert post(config, {"object": "something-else"}).status_code == 200
    assert not StatusEvent.objects.exists()


def test_it_answers_400_to_a_signed_body_that_is_not_json(config):
    assert post(config, None, raw=b"not json").status_code == 400


def test_it_answers_400_to_a_signed_body_nested_too_deeply(config):
    assert post(config, None, raw=b"[" * 100_000 + b"]" * 100_000).status_code == 400


@pytest.mark.parametrize("code", [10**20, 2**31, -1, True, "131047", 1.5])
def test_it_stores_a_failed_status_without_an_error_code_no_column_can_hold(config, code):
    payload = status_payload(status="failed", errors=[{"code": code, "title": "Odd"}])
    assert post(config, payload).status_code == 200
    event = StatusEvent.objects.get()
    assert event.status == "failed" and event.error_code is None
    assert event.error_title == "Odd"


def test_it_keeps_the_largest_error_code_a_column_holds(config):
    post(config, status_payload(status="failed", errors=[{"code": 2**31 - 1}]))
    assert StatusEvent.objects.get().error_code == 2**31 - 1


def test_it_stores_text_with_nul_characters_without_them(config):
    payload = inbound_payload(message_id="wamid.NUL1")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "A\x00men"
    assert post(config, payload).status_code == 200
    failed = status_payload(
        status="failed", errors=[{"code": 131026, "title": "Un\x00deliverable"}]
    )
    assert post(config, failed).status_code == 200
    assert InboundMessage.objects.get().text == "Amen"
    assert StatusEvent.objects.get().error_title == "Undeliverable"


# --- any JSON shape, and events for another number -------------------------------------------


def _with_value(**changes):
    payload = status_payload()
    payload["entry"][0]["changes"][0]["value"].update(changes)
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        5,
        "text",
        None,
        [],
        [{"entry": []}],
        {"entry": 5},
        {"entry": [5, "x", None, []]},
        {"entry": [{"changes": 5}]},
        {"entry": [{"changes": [5, None, {"value": 5}, {"value": []}]}]},
        _with_value(statuses=5),
        _with_value(statuses="delivered"),
        _with_value(statuses=[5, None, [], {"id": 5, "status": []}]),
        _with_value(statuses=[{"id": "wamid.X", "status": "read", "timestamp": "x" * 1000}]),
        _with_value(statuses=[{"id": "wamid.X", "status": "read", "timestamp": 10**30}]),
        _with_value(statuses=[{"id": "wamid.X", "status": "failed", "errors": 5}]),
        _with_value(statuses=[{"id": "wamid.X", "status": "failed", "errors": [5]}]),
        _with_value(statuses=[{"id": "wamid.\ud800", "status": "sent"}]),
        _with_value(messages=5, contacts=5),
        _with_value(messages=[{"id": "wamid.M", "text": 5, "from": ["x"]}]),
        _with_value(messages=[{"id": "wamid.S", "type": "text", "text": {"body": "A\ud800men"}}]),
        _with_value(contacts=[{"profile": 5}, {"profile": {"name": ["x"]}, "wa_id": 5}]),
        _with_value(user_preferences=[5, {"wa_id": [], "value": {}}]),
        _with_value(metadata=5),
        _with_value(metadata={"phone_number_id": ["x"]}),
        _with_value(metadata={"phone_number_id": None}),
    ],
)
def test_it_answers_200_to_any_json_shape_and_stores_only_what_fits(config, payload):
    response = post(config, payload)
    assert response.status_code == 200
    for event in StatusEvent.objects.all():
        assert event.message_id.isprintable()
    for message in InboundMessage.objects.all():
        message.text.encode("utf-8")  # storable and showable


def test_it_ignores_and_logs_events_for_another_phone_number(config, caplog):
    payload = status_payload()
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999000999"
    inbound = inbound_payload(message_id="wamid.OTHER")
    inbound["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999000999"
    assert post(config, payload).status_code == 200
    assert post(config, inbound).status_code == 200
    assert not StatusEvent.objects.exists() and not InboundMessage.objects.exists()
    assert "another phone number id (999000999)" in caplog.text
    # The organization's own number still counts.
    assert post(config, status_payload()).status_code == 200
    assert StatusEvent.objects.count() == 1
