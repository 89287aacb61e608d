"""Template and health webhooks name a business account only by the entry's id: an
organization's webhook ignores (and logs) those for another account, and still answers 200."""

import json

import pytest
from django.test import Client

from conftest import api_client
from devtools.fakes.graph import OTHER_WABA_ID, PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from whatsapp import events
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db

APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

TEMPLATE = {
    "message_template_id": 1689556908129832,
    "message_template_name": "sunday_service",
    "message_template_language": "en_US",
}
CHANGES = {
    "message_template_status_update": {**TEMPLATE, "event": "REJECTED", "reason": "SCAM"},
    "message_template_quality_update": {**TEMPLATE, "new_quality_score": "RED"},
    "template_category_update": {**TEMPLATE, "new_category": "MARKETING"},
    "account_update": {"event": "ACCOUNT_RESTRICTION"},
    "phone_number_quality_update": {"event": "FLAGGED", "current_limit": "TIER_250"},
}
EVENT_TYPES = (
    events.TemplateStatusChanged,
    events.TemplateQualityChanged,
    events.TemplateCategoryChanged,
    events.AccountUpdate,
    events.PhoneNumberQualityUpdate,
)


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


@pytest.fixture
def received():
    seen = []
    for event_type in EVENT_TYPES:
        events.subscribe(event_type, seen.append)
    yield seen
    for event_type in EVENT_TYPES:
        events._handlers[event_type].remove(seen.append)


def deliver(config, field, value, account_id):
    entry = {"time": 1764081000, "changes": [{"field": field, "value": value}]}
    if account_id is not None:
        entry["id"] = account_id
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    return Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )


@pytest.mark.parametrize("field", sorted(CHANGES))
@pytest.mark.parametrize("account_id", [OTHER_WABA_ID, int(OTHER_WABA_ID), None, ["x"]])
def test_it_ignores_and_logs_account_changes_for_another_business_account(
    config, received, caplog, field, account_id
):
    response = deliver(config, field, CHANGES[field], account_id)
    assert response.status_code == 200
    assert received == []
    config.refresh_from_db()
    assert config.health_status == "ok" and config.account_restriction == ""
    assert config.number_status != "FLAGGED"
    assert "another business account id" in caplog.text
    assert APP_SECRET not in caplog.text and VALID_TOKEN not in caplog.text


@pytest.mark.parametrize("field", sorted(CHANGES))
@pytest.mark.parametrize("account_id", [WABA_ID, int(WABA_ID)])
def test_it_still_applies_account_changes_for_its_own_business_account(
    config, received, field, account_id
):
    assert deliver(config, field, CHANGES[field], account_id).status_code == 200
    assert len(received) == 1
