"""Monthly caps: one enforcement point, `>=` at the boundary, the error names the cap, one
warning email at 80 %, and the broadcast recipients choke point."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from conftest import api_client
from plans import services
from plans.models import AIUsage, Budget, UsageCounter
from plans.services import BudgetExhausted, broadcast_recipients_reserve, month_start
from plans.tests.conftest import GENERATE, set_plan, store_key, used_keys

pytestmark = pytest.mark.django_db


def draft(user):
    return api_client(user).post(GENERATE, {"prompt": "Sunday service"}, format="json")


def spend(org, budget=Budget.OWN, **values):
    UsageCounter.objects.update_or_create(
        organization=org, month=month_start(), budget=budget, defaults=values
    )


def test_it_refuses_a_draft_at_the_token_cap_before_calling_the_provider(team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=5000)
    spend(team.org, tokens=5000)  # exactly at the cap: `>=` refuses
    response = draft(team.member)
    assert response.status_code == 402
    body = response.json()
    assert body["error_code"] == "budget_exhausted"
    assert body["cap"] == "ai_token_cap"
    first_of_next_month = services.next_month(month_start())
    assert body["resets_at"].startswith(first_of_next_month.isoformat())
    assert "tokens with your own key" in body["error"]
    assert used_keys(fake_providers) == []
    assert not AIUsage.objects.exists()


def test_it_allows_a_draft_just_below_the_cap(team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=5000)
    spend(team.org, tokens=4999)
    assert draft(team.member).status_code == 200


def test_it_refuses_at_the_cost_cap_and_names_it(team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "free", ai_cost_cap_usd=Decimal("1.00"))
    spend(team.org, cost_usd=Decimal("1.00"))
    response = draft(team.member)
    assert response.status_code == 402 and response.json()["cap"] == "ai_cost_cap_usd"
    assert "$1.00" in response.json()["error"]


def test_it_settles_a_reservation_with_the_real_usage(team, fake_providers):
    store_key(team.org)  # gpt-4o-mini: $0.15 in / $0.60 out per million
    assert draft(team.member).status_code == 200
    counter = UsageCounter.objects.get(organization=team.org, budget=Budget.OWN)
    assert counter.tokens == 13  # the fake answers 12 + 1 tokens
    expected = (Decimal(12) * Decimal("0.15") + Decimal(1) * Decimal("0.60")) / 1_000_000
    assert counter.cost_usd == expected
    assert AIUsage.objects.get().cost_usd == expected


def test_it_records_tokens_but_no_cost_for_a_model_not_in_the_price_table(team, fake_providers):
    store_key(team.org, model="gpt-5.4-mini")
    assert draft(team.member).status_code == 200
    usage = AIUsage.objects.get()
    assert usage.input_tokens == 12 and usage.output_tokens == 1
    assert usage.cost_usd is None and usage.price_version == ""
    body = api_client(team.member).get("/api/usage").json()
    assert body["ai"]["unpriced_calls"] == 1 and body["ai"]["calls"] == 1


def test_it_keeps_the_platform_budget_apart_from_the_own_one(team, fake_providers, platform_key):
    set_plan(team.org, "enterprise", ai_token_cap=1, platform_ai_token_cap=1)
    spend(team.org, budget=Budget.PLATFORM, tokens=1)
    response = draft(team.member)
    assert response.status_code == 402 and response.json()["cap"] == "platform_ai_token_cap"
    # With its own key, the organization spends its own budget instead.
    store_key(team.org)
    assert draft(team.member).json()["credential"] == "primary"


def test_it_emails_owners_and_admins_once_at_80_percent(
    team, fake_providers, django_capture_on_commit_callbacks
):
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=100)
    spend(team.org, tokens=66)
    with django_capture_on_commit_callbacks(execute=True):
        assert draft(team.member).status_code == 200  # 66 + 13 = 79 %
    assert len(mail.outbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert draft(team.member).status_code == 200  # 92 %
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["admin@grace.test", "owner@grace.test"]
    assert "80%" in mail.outbox[0].subject and "Grace Church" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        draft(team.member)
    assert len(mail.outbox) == 1


def test_it_meters_key_tests_without_letting_a_budget_block_them(team, fake_providers):
    set_plan(team.org, "free", ai_token_cap=10)
    spend(team.org, tokens=10)
    response = api_client(team.owner).put(
        "/api/settings/ai-config",
        {"provider": "openai", "api_key": fake_providers_key(), "model": "gpt-4o-mini"},
        format="json",
    )
    assert response.status_code == 200
    usage = AIUsage.objects.get()
    assert usage.purpose == "key_test" and usage.credential == "primary" and usage.ok


def fake_providers_key():
    from devtools.fakes.providers import VALID_KEYS

    return VALID_KEYS["openai"]


def test_it_releases_the_reservation_of_a_failed_call(team, fake_providers):
    store_key(team.org)
    fake_providers.set_scenario("openai", "server_error")
    assert draft(team.member).status_code == 502
    counter = UsageCounter.objects.get(organization=team.org, budget=Budget.OWN)
    assert counter.tokens == 0 and counter.cost_usd == 0
    usage = AIUsage.objects.get()
    assert usage.ok is False and usage.error_code == "provider_error"


# --- broadcasts ---------------------------------------------------------------------------------


def test_it_holds_free_broadcasts_to_the_plans_recipients(team, settings):
    settings.PLAN_FREE_BROADCAST_RECIPIENTS = 500
    broadcast_recipients_reserve(organization=team.org, count=400)
    with pytest.raises(BudgetExhausted) as refused:
        broadcast_recipients_reserve(organization=team.org, count=101)
    assert refused.value.cap.name == "broadcast_recipients" and refused.value.status == 402
    assert "100" in refused.value.message
    broadcast_recipients_reserve(organization=team.org, count=100)  # exactly 500
    with pytest.raises(BudgetExhausted):
        broadcast_recipients_reserve(organization=team.org, count=1)
    # Another organization and another month are counted apart.
    broadcast_recipients_reserve(organization=team.other_org, count=500)
    services.broadcast_recipients_release(organization=team.org, count=50)
    broadcast_recipients_reserve(organization=team.org, count=50)


def test_it_does_not_limit_pro_broadcasts(team):
    set_plan(team.org, "pro")
    broadcast_recipients_reserve(organization=team.org, count=1_000_000)


def test_it_counts_each_month_from_zero(team):
    assert services.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert services.month_resets_at(date(2026, 11, 1)).isoformat().startswith("2026-12-01T00:00")
