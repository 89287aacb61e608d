"""Template drafting and Fill with AI go through the same choke point as drafts
(aiconfig.services.ai_generate -> plans.services.ai_spend): each call is in the ledger, and a
used-up budget refuses it before the provider is called, naming the cap."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging import services as message_services
from messaging.models import Contact, MessageTemplate
from plans.models import AIUsage, Budget, UsageCounter
from plans.services import BudgetExhausted
from plans.tests.conftest import set_plan, store_key

pytestmark = pytest.mark.django_db

TEMPLATES = "/messages/templates/"
COMPOSER = "/messages/"


@pytest.fixture
def church(team, fake_graph, fake_providers):
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
        },
        format="json",
    )
    assert response.status_code == 200
    store_key(team.org, model="gpt-5.4-mini")  # OpenAI's default model, priced
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    message_services.template_sync(organization=team.org)
    now = timezone.now()
    team.jose = Contact.objects.create(
        organization=team.org,
        name="José Pérez",
        phone="+15551230002",
        last_inbound_at=now - timedelta(days=2),
        opted_in_at=now - timedelta(days=30),
    )
    return team


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def template_draft(user):
    return browser(user).post(
        TEMPLATES,
        {
            "action": "draft",
            "name": "reminder",
            "language": "en_US",
            "category": "UTILITY",
            "prompt": "Remind people of their appointment with the pastor",
        },
    )


def composer_fill(user, contact):
    template = MessageTemplate.objects.get(name="sunday_service")
    return browser(user).post(
        COMPOSER,
        {
            "action": "fill",
            "contact": contact.pk,
            "template": template.pk,
            "var_1": "x",
            "var_2": "y",
        },
    )


def use_up_the_token_budget(org):
    """A token cap exactly at what the month used so far: the next call is refused (`>=`)."""
    counter = UsageCounter.objects.get(organization=org, budget=Budget.OWN)
    set_plan(org, "free", ai_token_cap=counter.tokens)


def generations(fake_providers) -> int:
    return sum(r.path.endswith("/chat/completions") for r in fake_providers.requests_for("openai"))


def test_it_meters_template_drafting_and_refuses_it_at_a_cap(church, fake_providers):
    assert template_draft(church.owner).status_code == 200
    usage = AIUsage.objects.get()
    assert usage.purpose == "template_draft" and usage.ok and usage.user == church.owner
    assert usage.model == "gpt-5.4-mini" and usage.cost_usd is not None
    use_up_the_token_budget(church.org)
    response = template_draft(church.owner)
    assert response.status_code == 402
    assert "tokens with your own key" in response.content.decode()
    assert generations(fake_providers) == 1 and AIUsage.objects.count() == 1
    with pytest.raises(BudgetExhausted) as refused:
        message_services.template_body_draft(
            membership=church.membership(church.owner), prompt="Reminder", category="UTILITY"
        )
    assert refused.value.code == "budget_exhausted"
    assert refused.value.details["cap"] == "ai_token_cap"


def test_it_meters_fill_with_ai_and_refuses_it_at_a_cap(church, fake_providers):
    fake_providers.reply_text = '{"1": "{{first_name}}", "2": "Sunday at 10 am"}'
    assert composer_fill(church.member, church.jose).status_code == 200
    usage = AIUsage.objects.get()
    assert usage.purpose == "broadcast_fill" and usage.ok and usage.user == church.member
    assert usage.cost_usd is not None
    use_up_the_token_budget(church.org)
    response = composer_fill(church.member, church.jose)
    assert response.status_code == 402
    assert "tokens with your own key" in response.content.decode()
    assert generations(fake_providers) == 1 and AIUsage.objects.count() == 1
    with pytest.raises(BudgetExhausted) as refused:
        message_services.template_values_suggest(
            membership=church.membership(church.member),
            template=MessageTemplate.objects.get(name="sunday_service"),
        )
    assert refused.value.code == "budget_exhausted"
    assert refused.value.details["cap"] == "ai_token_cap"
