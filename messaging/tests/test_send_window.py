"""POST /api/messages/send with contacts and templates: the 24-hour window, consent, opt-out
from Meta's 131050, contact fields in values."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging import services
from messaging.models import Contact, MessageRecord
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db

SEND = "/api/messages/send"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
MARIA = "+15551230001"
JOSE = "+15551230002"


@pytest.fixture
def church(team, fake_graph):
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
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    fake_graph.add_template(
        "appointment", body="Hello {{first_name}}, see you on {{date}}.", category="UTILITY"
    )
    services.template_sync(organization=team.org)
    now = timezone.now()
    # Maria wrote an hour ago; José wrote two days ago. Both agreed to hear from the church.
    Contact.objects.create(
        organization=team.org,
        name="Maria Lopez",
        phone=MARIA,
        last_inbound_at=now - timedelta(hours=1),
        opted_in_at=now - timedelta(days=30),
    )
    Contact.objects.create(
        organization=team.org,
        name="José",
        phone=JOSE,
        last_inbound_at=now - timedelta(days=2),
        opted_in_at=now - timedelta(days=30),
    )
    fake_graph.requests.clear()
    return team


def contact(phone):
    return Contact.objects.get(phone=phone)


def sunday(variables=("{{first_name}}", "10 am")):
    return {"name": "sunday_service", "language": "en_US", "variables": list(variables)}


def test_it_sends_free_text_to_a_contact_whose_window_is_open(church, fake_graph):
    response = api_client(church.member).post(
        SEND, {"contact_id": contact(MARIA).pk, "text": "Thank you!"}, format="json"
    )
    assert response.status_code == 200, response.content
    record = MessageRecord.objects.get(kind="send")
    assert record.contact == contact(MARIA) and record.to == MARIA[1:]
    assert fake_graph.sent[0]["to"] == MARIA[1:]


@pytest.mark.parametrize("by", ["contact_id", "to"])
def test_it_refuses_free_text_outside_the_window_before_calling_meta(church, fake_graph, by):
    target = {"contact_id": contact(JOSE).pk} if by == "contact_id" else {"to": JOSE}
    response = api_client(church.member).post(SEND, {**target, "text": "Hi"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["error_code"] == "outside_window" and "template" in body["error"]
    assert not fake_graph.requests and not MessageRecord.objects.exists()


def test_it_attempts_free_text_to_a_number_that_is_no_contact(church, fake_graph):
    fake_graph.closed_windows.add("15559990000")
    response = api_client(church.member).post(
        SEND, {"to": "+15559990000", "text": "Hi"}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["error_code"] == "outside_window"
    assert len(fake_graph.requests_to("send")) == 1


def test_it_sends_a_template_outside_the_window_with_contact_fields(church, fake_graph):
    response = api_client(church.member).post(
        SEND, {"contact_id": contact(JOSE).pk, "template": sunday()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    parameters = fake_graph.sent[0]["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["José", "10 am"]
    record = MessageRecord.objects.get(kind="send")
    assert record.text == "Hi José, service at 10 am. Welcome!"
    assert record.template_name == "sunday_service" and record.contact == contact(JOSE)


def test_it_sends_named_values_and_falls_back_when_a_field_is_empty(church, fake_graph):
    Contact.objects.filter(phone=JOSE).update(name="")
    response = api_client(church.owner).post(
        SEND,
        {
            "to": JOSE,
            "template": {
                "name": "appointment",
                "language": "en_US",
                "variables": {"first_name": "{{first_name|friend}}", "date": "Monday"},
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    parameters = fake_graph.sent[0]["template"]["components"][0]["parameters"]
    assert [(p["parameter_name"], p["text"]) for p in parameters] == [
        ("first_name", "friend"),
        ("date", "Monday"),
    ]


@pytest.mark.parametrize(
    "payload, field, code",
    [
        (
            {"to": "+15559990000", "template": sunday()},
            "variables",
            "contact_field_without_contact",
        ),
        ({"template": {"name": "nope", "language": "en_US"}}, "template", "template_not_found"),
        ({"template": sunday(["only one"])}, "variables", "template_parameter_count"),
        ({"template": {**sunday(), "variables": [1, 2]}}, "template", "invalid_input"),
        ({"template": {**sunday(), "variables": "x"}}, "template", "invalid_input"),
        ({"text": "Hi", "template": sunday()}, "text", "invalid_input"),
        ({}, "text", "invalid_input"),
        ({"contact_id": 1, "to": JOSE, "text": "Hi"}, "to", "invalid_input"),
    ],
)
def test_it_refuses_bad_sends_with_a_clear_400(church, fake_graph, payload, field, code):
    if "to" not in payload and "contact_id" not in payload:
        payload = {**payload, "contact_id": contact(JOSE).pk}
    response = api_client(church.member).post(SEND, payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == code
    assert field in response.json()["fields"]
    assert not fake_graph.requests


def test_it_refuses_marketing_to_a_contact_who_opted_out_but_not_utility(church, fake_graph):
    Contact.objects.filter(phone=JOSE).update(opted_out_at=timezone.now(), opt_out_reason="STOP")
    client = api_client(church.member)
    response = client.post(
        SEND, {"contact_id": contact(JOSE).pk, "template": sunday()}, format="json"
    )
    assert response.status_code == 409 and response.json()["error_code"] == "opted_out"
    assert not fake_graph.requests
    appointment = {
        "name": "appointment",
        "language": "en_US",
        "variables": {"first_name": "José", "date": "Monday"},
    }
    response = client.post(
        SEND, {"contact_id": contact(JOSE).pk, "template": appointment}, format="json"
    )
    assert response.status_code == 200


def test_it_refuses_marketing_without_consent(church, fake_graph):
    Contact.objects.filter(phone=JOSE).update(opted_in_at=None)
    response = api_client(church.member).post(
        SEND, {"contact_id": contact(JOSE).pk, "template": sunday()}, format="json"
    )
    assert response.status_code == 409 and response.json()["error_code"] == "no_consent"


def test_it_opts_the_contact_out_when_meta_answers_131050(church, fake_graph):
    fake_graph.scenario("send", "marketing_opted_out")
    response = api_client(church.member).post(
        SEND, {"contact_id": contact(JOSE).pk, "template": sunday()}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["error_code"] == "marketing_opted_out"
    assert contact(JOSE).opted_out_at is not None
    record = MessageRecord.objects.get(kind="send")
    assert record.status == "rejected" and record.error_code == "marketing_opted_out"


def test_it_opts_the_contact_out_when_a_failed_status_says_131050(church, fake_graph):
    message_id = (
        api_client(church.member)
        .post(SEND, {"contact_id": contact(JOSE).pk, "template": sunday()}, format="json")
        .json()["message_id"]
    )
    status = {
        "id": message_id,
        "status": "failed",
        "timestamp": "1764081000",
        "recipient_id": JOSE[1:],
        "errors": [{"code": 131050, "title": "User stopped marketing messages"}],
    }
    config = WhatsAppConfig.objects.get(organization=church.org)
    # As Meta sends it: for the organization's own number (others' are ignored).
    value = {"metadata": {"phone_number_id": config.phone_number_id}, "statuses": [status]}
    body = json.dumps({"entry": [{"changes": [{"value": value}]}]}).encode()
    Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert contact(JOSE).opted_out_at is not None
    assert MessageRecord.objects.get(kind="send").status == "failed"


def test_it_never_sends_to_another_organizations_contact(church, fake_graph):
    other = Contact.objects.create(organization=church.other_org, phone="+15551239999")
    response = api_client(church.member).post(
        SEND, {"contact_id": other.pk, "text": "Hi"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error_code"] == "not_found"
    outsider = api_client(church.outsider, church.org)
    assert outsider.post(SEND, {"to": MARIA, "text": "Hi"}, format="json").status_code == 404
    assert not fake_graph.requests
