"""The Templates page and the window-aware composer (pages work without JavaScript)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from messaging import services
from messaging.models import Contact, ContactGroup, MessageRecord, MessageTemplate

pytestmark = pytest.mark.django_db

PAGE = "/messages/templates/"
COMPOSER = "/messages/"


@pytest.fixture
def church(team, fake_graph, fake_providers):
    owner = api_client(team.owner)
    assert (
        owner.put(
            "/api/settings/whatsapp-meta",
            {
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": WABA_ID,
                "access_token": VALID_TOKEN,
            },
            format="json",
        ).status_code
        == 200
    )
    assert (
        owner.put(
            "/api/settings/ai-config",
            {"provider": "openai", "api_key": VALID_KEYS["openai"]},
            format="json",
        ).status_code
        == 200
    )
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    fake_graph.add_template("pending_one", status="PENDING")
    services.template_sync(organization=team.org)
    now = timezone.now()
    team.jose = Contact.objects.create(
        organization=team.org,
        name="José Pérez",
        phone="+15551230002",
        last_inbound_at=now - timedelta(days=2),
        opted_in_at=now - timedelta(days=30),
    )
    team.maria = Contact.objects.create(
        organization=team.org,
        name="Maria",
        phone="+15551230001",
        last_inbound_at=now - timedelta(hours=1),
        opted_in_at=now - timedelta(days=30),
    )
    fake_graph.requests.clear()
    fake_providers.requests.clear()
    return team


def browser(user):
    client = Client()
    client.force_login(user)
    return client


# --- the Templates page --------------------------------------------------------------------------


def test_it_lists_templates_and_explains_the_categories_to_any_member(church):
    for user in (church.owner, church.member):
        response = browser(user).get(PAGE)
        assert response.status_code == 200
        page = response.content.decode()
        assert "sunday_service" in page and "Approved: ready to send" in page
        assert "Waiting for Meta" in page and "Which category?" in page
    assert "Sync now" in browser(church.owner).get(PAGE).content.decode()
    member_page = browser(church.member).get(PAGE).content.decode()
    assert "Sync now" not in member_page and "Submit to Meta" not in member_page


def test_it_syncs_now_for_an_owner_and_not_for_a_member(church, fake_graph):
    response = browser(church.member).post(PAGE, {"action": "sync"})
    assert response.status_code == 302 and not fake_graph.requests
    fake_graph.add_template("new_one")
    response = browser(church.owner).post(PAGE, {"action": "sync"}, follow=True)
    assert response.status_code == 200
    assert "new_one" in response.content.decode()


def test_it_keeps_outsiders_out(church):
    MessageTemplate.objects.create(
        organization=church.other_org, meta_id="9", name="hope_only", language="en", status="X"
    )
    page = browser(church.outsider).get(PAGE).content.decode()
    assert ">sunday_service<" not in page and ">hope_only<" in page


def test_it_submits_a_template_from_the_page(church, fake_graph):
    response = browser(church.admin).post(
        PAGE,
        {
            "action": "submit",
            "name": "prayer_night",
            "language": "en_US",
            "category": "MARKETING",
            "body": "Dear {{1}}, join our prayer night on {{2}}. All welcome.",
            "examples": "Maria\nFriday",
        },
    )
    assert response.status_code == 302
    sent = fake_graph.requests_to("template_create")[0].json
    assert sent["components"][0]["example"] == {"body_text": [["Maria", "Friday"]]}
    assert MessageTemplate.objects.get(name="prayer_night").status == "PENDING"


def test_it_shows_the_blanks_and_metas_rules_without_calling_meta(church, fake_graph):
    response = browser(church.owner).post(
        PAGE,
        {
            "action": "check",
            "name": "bad_one",
            "language": "en_US",
            "category": "UTILITY",
            "body": "{{first_name}}, your appointment is on {{date}}",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "first_name, date" in page and "may not start or end" in page
    assert not fake_graph.requests


def test_it_shows_metas_reason_when_meta_refuses(church, fake_graph):
    fake_graph.add_template("taken_name")
    response = browser(church.owner).post(
        PAGE,
        {
            "action": "submit",
            "name": "taken_name",
            "language": "en_US",
            "category": "UTILITY",
            "body": "Your appointment is confirmed. See you soon.",
        },
    )
    assert response.status_code == 400
    assert "Already Exists" in response.content.decode()


def test_it_drafts_a_template_body_with_the_organizations_ai(church, fake_providers):
    response = browser(church.owner).post(
        PAGE,
        {
            "action": "draft",
            "name": "reminder",
            "language": "en_US",
            "category": "UTILITY",
            "prompt": "Remind people of their appointment with the pastor",
        },
    )
    assert response.status_code == 200
    [request] = fake_providers.requests_for("openai")
    system = request.json["messages"][0]["content"]
    assert "never start or end the text with a variable" in system
    assert "Drafted by" in response.content.decode()


# --- the composer --------------------------------------------------------------------------------


def test_it_offers_free_text_while_the_window_is_open(church):
    page = browser(church.member).get(COMPOSER, {"contact": church.maria.pk}).content.decode()
    assert "you may write freely" in page and "Review and send" in page
    assert 'name="action" value="send_template"' not in page


def test_it_offers_only_approved_templates_when_the_window_is_closed(church):
    page = browser(church.member).get(COMPOSER, {"contact": church.jose.pk}).content.decode()
    assert "only allows an approved template" in page
    assert "sunday_service" in page and "pending_one" not in page
    assert "Review and send" not in page


def test_it_sends_a_template_with_a_contact_field(church, fake_graph):
    template = MessageTemplate.objects.get(name="sunday_service")
    response = browser(church.member).post(
        COMPOSER,
        {
            "action": "send_template",
            "contact": church.jose.pk,
            "template": template.pk,
            "var_1": "{{first_name}}",
            "var_2": "10 am",
        },
    )
    assert response.status_code == 302, response.content.decode()
    parameters = fake_graph.sent[0]["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["José", "10 am"]
    assert MessageRecord.objects.get(kind="send").contact == church.jose


def test_it_refuses_free_text_to_a_contact_outside_the_window(church, fake_graph):
    response = browser(church.member).post(
        COMPOSER, {"action": "send", "contact": church.jose.pk, "text": "Hello"}
    )
    assert response.status_code == 400
    assert "approved template" in response.content.decode()
    assert not fake_graph.requests


def test_it_fills_the_blanks_with_ai(church, fake_providers, monkeypatch):
    fake_providers.reply_text = '{"1": "{{first_name}}", "2": "Sunday at 10 am"}'
    template = MessageTemplate.objects.get(name="sunday_service")
    response = browser(church.member).post(
        COMPOSER,
        {
            "action": "fill",
            "contact": church.jose.pk,
            "template": template.pk,
            "var_1": "x",
            "var_2": "y",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sunday at 10 am" in page and "The AI suggested values" in page


def test_it_points_a_group_to_broadcasts(church):
    group = ContactGroup.objects.create(organization=church.org, name="Choir")
    church.jose.groups.add(group)
    page = browser(church.member).get(COMPOSER, {"group": group.pk}).content.decode()
    assert "The group Choir" in page and "broadcast" in page


def test_it_finds_contacts_by_name_only_in_the_organization(church):
    Contact.objects.create(organization=church.other_org, name="José Hope", phone="+15550000001")
    page = browser(church.member).get(COMPOSER, {"q": "José"}).content.decode()
    assert "José Pérez" in page and "José Hope" not in page
