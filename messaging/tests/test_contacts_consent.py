"""Opt-out and windows driven by Meta's webhook, end to end through the real webhook view with
signed bodies, and the services the send paths call."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging.contacts import selectors
from messaging.contacts.services import contact_opt_in, contact_opt_out
from messaging.models import ConsentRecord, ConsentSource, Contact
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db

APP_SECRET = "5e5e5e5e4d4d4d4d3c3c3c3c2b2b2b2b"
WA_ID = "447911123456"
PHONE = "+447911123456"


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


def envelope(field, value):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550967852", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": field, "value": value}]}],
    }


_ids = iter(range(1, 10_000))


def inbound(text, *, wa_id=WA_ID, name="Ana Souza", timestamp=None, kind="text"):
    message = {
        "from": wa_id,
        "id": f"wamid.IN{next(_ids)}",
        "timestamp": str(timestamp or int(timezone.now().timestamp())),
        "type": kind,
    }
    if kind == "text":
        message["text"] = {"body": text}
    return envelope(
        "messages",
        {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]},
    )


def preference(value, *, wa_id=WA_ID, timestamp=1764081000, category="marketing_messages"):
    return envelope(
        "user_preferences",
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa_id}],
            "user_preferences": [
                {
                    "wa_id": wa_id,
                    "detail": "User requested to stop marketing messages",
                    "category": category,
                    "value": value,
                    "timestamp": timestamp,
                }
            ],
        },
    )


def deliver(config, payload):
    body = json.dumps(payload).encode()
    response = Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert response.status_code == 200
    return response


def consented_contact(team, phone=PHONE):
    contact = Contact.objects.create(organization=team.org, phone=phone, name="Ana")
    contact_opt_in(organization=team.org, phone=phone, source=ConsentSource.FORM)
    contact.refresh_from_db()
    return contact


def test_it_creates_an_unknown_sender_as_a_contact_without_consent_and_opens_the_window(config):
    deliver(config, inbound("Hello, is there a service on Sunday?"))
    contact = Contact.objects.get()
    assert contact.organization == config.organization
    assert contact.phone == PHONE and contact.name == "Ana Souza"
    assert contact.opted_in_at is None and contact.opted_out_at is None
    assert contact.window_is_open
    assert contact.window_open_until == contact.last_inbound_at + timedelta(hours=24)
    eligibility = selectors.contact_marketing_eligibility(contact)
    assert not eligibility.allowed and eligibility.code == "no_consent"
    body = api_client(config.organization.memberships.first().user).get("/api/contacts").json()
    assert body["results"][0]["window_open_until"] is not None


def test_it_keeps_a_name_the_church_gave_and_the_latest_window(team, config):
    contact = consented_contact(team)
    contact.name = "Sister Ana"
    contact.save()
    now = int(timezone.now().timestamp())
    deliver(config, inbound("First", timestamp=now - 60))
    deliver(config, inbound("Old, delivered late", timestamp=now - 7200))
    contact.refresh_from_db()
    assert contact.name == "Sister Ana"
    assert contact.last_inbound_at == datetime.fromtimestamp(now - 60, tz=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "  Stop  ",
        "Stop!",
        "UNSUBSCRIBE",
        "cancel",
        "PARAR",
        "baja",
        "ARRÊT",
        "arrêt",
    ],
)
def test_it_opts_out_a_contact_who_sends_only_a_stop_word(team, config, text):
    contact = consented_contact(team)
    assert selectors.contact_marketing_eligibility(contact).allowed
    deliver(config, inbound(text))
    contact.refresh_from_db()
    assert contact.opted_out_at is not None
    assert contact.opt_out_source == "keyword"
    assert contact.opt_out_reason.startswith("Replied")
    eligibility = selectors.contact_marketing_eligibility(contact)
    assert not eligibility.allowed and eligibility.code == "opted_out"
    record = ConsentRecord.objects.filter(action="opt_out").get()
    assert record.contact == contact and record.source == "keyword"
    # Every member sees it through the API at once.
    body = api_client(team.member).get(f"/api/contacts/{contact.pk}").json()
    assert body["opted_out_at"] is not None and body["opt_out_reason"] == contact.opt_out_reason


@pytest.mark.parametrize("text", ["Please stop by the office", "STOP IT", "stopping", "don't stop"])
def test_it_does_not_opt_out_for_a_sentence_containing_a_stop_word(team, config, text):
    contact = consented_contact(team)
    deliver(config, inbound(text))
    contact.refresh_from_db()
    assert contact.opted_out_at is None


def test_it_opts_back_in_on_start_with_an_explicit_record(team, config):
    contact = consented_contact(team)
    deliver(config, inbound("STOP"))
    deliver(config, inbound("start"))
    contact.refresh_from_db()
    assert contact.opted_out_at is None and contact.opt_out_reason == ""
    assert contact.opt_in_source == "keyword"
    assert selectors.contact_marketing_eligibility(contact).allowed
    actions = list(
        ConsentRecord.objects.filter(contact=contact).order_by("id").values_list("action", "source")
    )
    assert actions == [("opt_in", "form"), ("opt_out", "keyword"), ("opt_in", "keyword")]


def test_it_gives_an_unknown_number_that_sends_start_its_consent(config):
    deliver(config, inbound("START"))
    contact = Contact.objects.get()
    assert contact.opted_in_at is not None and contact.opt_in_source == "keyword"


def test_it_uses_the_keyword_lists_from_the_settings(team, config, settings):
    settings.OPT_OUT_KEYWORDS = ["SAIR"]
    contact = consented_contact(team)
    deliver(config, inbound("STOP"))
    contact.refresh_from_db()
    assert contact.opted_out_at is None
    deliver(config, inbound("sair"))
    contact.refresh_from_db()
    assert contact.opted_out_at is not None


def test_it_ignores_keywords_in_messages_that_are_not_text(team, config):
    contact = consented_contact(team)
    deliver(config, inbound("", kind="image"))
    contact.refresh_from_db()
    assert contact.opted_out_at is None and contact.last_inbound_at is not None


def test_it_opts_out_on_metas_marketing_stop_and_resumes(team, config):
    contact = consented_contact(team)
    deliver(config, preference("stop", timestamp=int(timezone.now().timestamp())))
    contact.refresh_from_db()
    assert contact.opted_out_at is not None and contact.opt_out_source == "whatsapp"
    assert not selectors.contact_marketing_eligibility(contact).allowed
    # Replayed by Meta: still one opt-out on record.
    deliver(config, preference("stop", timestamp=int(timezone.now().timestamp())))
    assert ConsentRecord.objects.filter(action="opt_out").count() == 1
    deliver(config, preference("resume", timestamp=int(timezone.now().timestamp()) + 5))
    contact.refresh_from_db()
    assert contact.opted_out_at is None
    # The consent given earlier counts again.
    assert selectors.contact_marketing_eligibility(contact).allowed


def test_it_ignores_a_resume_older_than_the_stop_it_would_lift(team, config):
    contact = consented_contact(team)
    now = int(timezone.now().timestamp())
    deliver(config, preference("stop", timestamp=now))
    deliver(config, preference("resume", timestamp=now - 3600))
    contact.refresh_from_db()
    assert contact.opted_out_at is not None


def test_it_does_not_give_consent_on_a_resume_from_someone_who_never_gave_it(config):
    deliver(config, preference("stop"))
    deliver(config, preference("resume", timestamp=1764081999))
    contact = Contact.objects.get()
    assert contact.opted_out_at is None and contact.opted_in_at is None
    assert selectors.contact_marketing_eligibility(contact).code == "no_consent"


@pytest.mark.parametrize(
    "item",
    [
        {"wa_id": WA_ID, "value": "pause", "category": "marketing_messages"},
        {"wa_id": "", "value": "stop", "category": "marketing_messages"},
        {"wa_id": "not-digits", "value": "stop"},
        {"wa_id": WA_ID, "value": "stop", "category": "something_else"},
        "not an object",
    ],
)
def test_it_ignores_a_preference_it_cannot_use(team, config, item):
    contact = consented_contact(team)
    payload = preference("stop")
    payload["entry"][0]["changes"][0]["value"]["user_preferences"] = [item]
    deliver(config, payload)
    contact.refresh_from_db()
    assert contact.opted_out_at is None


def test_it_keeps_organizations_apart_in_opt_outs(team, config):
    other = Contact.objects.create(organization=team.other_org, phone=PHONE, name="Ana")
    contact_opt_in(organization=team.other_org, phone=PHONE, source=ConsentSource.FORM)
    deliver(config, inbound("STOP"))
    other.refresh_from_db()
    assert other.opted_out_at is None and other.last_inbound_at is None
    assert Contact.objects.get(organization=team.org).opted_out_at is not None


def test_it_opts_out_through_the_service_a_send_path_calls_on_131050(team):
    contact = consented_contact(team)
    returned = contact_opt_out(
        organization=team.org,
        phone="447911123456",
        reason="WhatsApp: the person stopped marketing messages (131050)",
        source=ConsentSource.SEND_ERROR,
    )
    assert returned.pk == contact.pk
    contact.refresh_from_db()
    assert contact.opt_out_source == "send_error"
    # An unknown number is kept as an opted-out contact.
    stranger = contact_opt_out(
        organization=team.org, phone="+34612345678", reason="131050", source="send_error"
    )
    assert stranger.opted_out_at is not None and stranger.organization == team.org
    assert contact_opt_out(organization=team.org, phone="junk", reason="x", source="api") is None


def test_it_lists_contacts_of_groups_once_each(team):
    from messaging.models import ContactGroup

    youth = ContactGroup.objects.create(organization=team.org, name="Youth")
    choir = ContactGroup.objects.create(organization=team.org, name="Choir")
    both = Contact.objects.create(organization=team.org, phone=PHONE)
    both.groups.add(youth, choir)
    only = Contact.objects.create(organization=team.org, phone="+34612345678")
    only.groups.add(choir)
    Contact.objects.create(organization=team.org, phone="+5511987654321")
    found = selectors.contacts_in_groups(team.org, [youth.pk, choir.pk])
    assert list(found) == [both, only]
    assert list(selectors.contacts_in_groups(team.other_org, [youth.pk])) == []


def test_it_says_why_a_us_number_gets_no_marketing_template(team):
    contact = consented_contact(team, phone="+14155552671")
    eligibility = selectors.contact_marketing_eligibility(contact)
    assert eligibility.code == "us_number"
    assert selectors.contact_marketing_eligibility(contact, marketing_template=False).allowed
    canada = consented_contact(team, phone="+14165550123")
    assert selectors.contact_marketing_eligibility(canada).allowed
