"""Monthly caps: one enforcement point, `>=` at the boundary, the error names the cap, one
warning email at 80 %, and the broadcast recipients choke point."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from aiconfig.providers import PROVIDERS, default_model_for
from conftest import api_client
from plans import services
from plans.models import AIUsage, Budget, UsageCounter
from plans.prices import price_table
from plans.services import BudgetExhausted, broadcast_recipients_reserve, month_start
from plans.tests.conftest import (
    GENERATE,
    UNPRICED_MODEL,
    set_plan,
    store_key,
    store_unpriced_key,
    used_keys,
)

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


def test_it_records_tokens_but_no_cost_for_a_model_not_in_the_price_table(
    team, fake_providers, settings
):
    assert price_table().price_for("custom", UNPRICED_MODEL) is None
    store_unpriced_key(team.org, settings, fake_providers)
    assert draft(team.member).status_code == 200
    usage = AIUsage.objects.get()
    assert usage.model == UNPRICED_MODEL
    assert usage.input_tokens == 12 and usage.output_tokens == 1
    assert usage.cost_usd is None and usage.price_version == ""
    body = api_client(team.member).get("/api/usage").json()
    assert body["ai"]["unpriced_calls"] == 1 and body["ai"]["calls"] == 1
    today = next(d for d in body["ai"]["by_day"] if d["calls"])
    assert today["unpriced_calls"] == 1


def test_it_prices_the_default_model_of_every_hosted_provider():
    table = price_table()
    unpriced = [
        f"{provider}: {default_model_for(provider)}"
        for provider in PROVIDERS
        if provider != "custom" and table.price_for(provider, default_model_for(provider)) is None
    ]
    assert unpriced == []
    # Self-hosted models have no list price: they stay out of the table.
    assert table.price_for("custom", default_model_for("custom")) is None


def test_it_refuses_an_unpriced_model_under_a_cost_cap_and_names_the_cap(
    team, fake_providers, settings
):
    store_unpriced_key(team.org, settings, fake_providers)
    set_plan(team.org, "free", ai_cost_cap_usd=Decimal("5.00"))
    response = draft(team.member)
    assert response.status_code == 409
    body = response.json()
    assert body["error_code"] == "cost_unknown"
    assert "AI spending with your own key" in body["error"] and "$5.00" in body["error"]
    assert UNPRICED_MODEL in body["error"] and "choose a priced model" in body["error"]
    assert not fake_providers.requests_for("custom")
    assert not AIUsage.objects.exists()
    assert not UsageCounter.objects.filter(tokens__gt=0).exists()


def test_it_keeps_the_token_cap_on_an_unpriced_model(team, fake_providers, settings):
    store_unpriced_key(team.org, settings, fake_providers)
    set_plan(team.org, "free", ai_token_cap=5000)
    spend(team.org, tokens=4999)
    assert draft(team.member).status_code == 200
    counter = UsageCounter.objects.get(organization=team.org, budget=Budget.OWN)
    assert counter.tokens == 4999 + 13 and counter.cost_usd == 0
    response = draft(team.member)
    assert response.status_code == 402 and response.json()["cap"] == "ai_token_cap"


def test_it_hands_an_unpriced_cost_capped_call_to_the_next_key(
    team, fake_providers, settings, platform_key
):
    store_unpriced_key(team.org, settings, fake_providers)
    set_plan(team.org, "enterprise", ai_cost_cap_usd=Decimal("5.00"))
    response = draft(team.member)
    assert response.status_code == 200 and response.json()["credential"] == "platform"
    assert not fake_providers.requests_for("custom")


def test_it_meters_an_unpriced_key_test_without_refusing_it(team, settings):
    set_plan(team.org, "free", ai_cost_cap_usd=Decimal("5.00"))
    with services.ai_spend(
        organization=team.org,
        credential="primary",
        provider="openai",
        model="no-such-model-in-the-price-table",
        purpose="key_test",
        prompt_text="Say OK",
        max_output_tokens=16,
        enforce=False,
    ) as call:
        call.settle(ok=True, input_tokens=5, output_tokens=2)
    usage = AIUsage.objects.get()
    assert usage.cost_usd is None and usage.input_tokens == 5
    with pytest.raises(services.CostUnknown) as refused:
        services.ai_budget_reserve(
            organization=team.org,
            credential="primary",
            provider="openai",
            model="no-such-model-in-the-price-table",
            purpose="draft",
            prompt_text="Hi",
            max_output_tokens=16,
        )
    assert refused.value.code == "cost_unknown" and refused.value.status == 409


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
