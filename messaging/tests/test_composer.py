import pytest
from django.test import Client

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from messaging.models import MessageRecord

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def configured(team, fake_providers, fake_graph):
    owner = api_client(team.owner)
    owner.put(
        "/api/settings/ai-config",
        {"provider": "anthropic", "api_key": VALID_KEYS["anthropic"]},
        format="json",
    )
    owner.put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
        },
        format="json",
    )
    fake_graph.requests.clear()
    return team


def test_it_drafts_into_an_editable_text_area(configured, fake_providers):
    response = client_for(configured.member).post(
        "/messages/",
        {
            "action": "draft",
            "prompt": "Choir practice moved to Friday",
            "tone": "warm",
            "language": "en",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Drafted by Anthropic (Claude)" in html
    assert '<textarea name="text"' in html and ">\nOK</textarea>" in html
    assert VALID_KEYS["anthropic"] not in html


def test_it_sends_and_shows_the_message_in_the_history(configured, fake_graph):
    client = client_for(configured.member)
    response = client.post(
        "/messages/", {"action": "send", "text": "See you Sunday!", "to": "+1 555 123 4567"}
    )
    assert response.status_code == 302
    html = client.get("/messages/").content.decode()
    assert "See you Sunday!" in html and "+15551234567" in html
    assert "Accepted by WhatsApp" in html
    assert fake_graph.sent[0]["text"]["body"] == "See you Sunday!"


def test_it_shows_send_errors_beside_the_fields(configured, fake_graph):
    response = client_for(configured.member).post(
        "/messages/", {"action": "send", "text": "", "to": "12345"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="field has-error"') == 2
    assert not fake_graph.requests


def test_it_shows_a_classified_send_failure(configured, fake_graph):
    fake_graph.scenario("send", "outside_window")
    response = client_for(configured.member).post(
        "/messages/", {"action": "send", "text": "Hi", "to": "+15551234567"}
    )
    assert response.status_code == 502
    assert "24 hours" in response.content.decode()
    assert MessageRecord.objects.get().status == "rejected"


def test_it_links_to_settings_when_nothing_is_configured(team):
    html = client_for(team.owner).get("/messages/").content.decode()
    assert "No AI provider is connected" in html and "No WhatsApp number is connected" in html
    assert 'href="/settings/#ai"' in html
    member_html = client_for(team.member).get("/messages/").content.decode()
    assert "Ask an owner or admin" in member_html


def test_it_warns_when_the_last_key_test_failed(configured):
    from aiconfig.models import AIConfig

    AIConfig.objects.update(last_test_ok=False, last_error_code="insufficient_quota")
    html = client_for(configured.member).get("/messages/").content.decode()
    assert "The last check of the AI key failed: no credit or quota left." in html


def test_it_shows_only_this_organizations_history(configured, fake_graph):
    client_for(configured.member).post(
        "/messages/", {"action": "send", "text": "Private note", "to": "+15551234567"}
    )
    html = client_for(configured.outsider).get("/messages/").content.decode()
    assert "Private note" not in html


def test_it_requires_login(team):
    assert Client().get("/messages/").status_code == 302
