"""Concurrent drafts against a cap overshoot it by at most one call's reservation (the
reservation takes a row lock; SQLite has no row locks, so this runs in CI's PostgreSQL run)."""

import threading

import pytest
from django.db import connection, connections

from messaging import services as message_services
from organizations.models import Membership
from plans.models import AIUsage, Budget, UsageCounter
from plans.services import BudgetExhausted, estimate_input_tokens
from plans.tests.conftest import set_plan, store_key

DRAFTS = 50
CAP = 20_000
MAX_OUTPUT = 1000


@pytest.mark.django_db(transaction=True)
def test_it_bounds_the_overshoot_of_50_concurrent_drafts(team, fake_providers, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks: runs on PostgreSQL (CI's PostgreSQL run)")
    settings.AI_DRAFT_MAX_OUTPUT_TOKENS = MAX_OUTPUT
    settings.AI_PROVIDER_TIMEOUT = 10
    # The bulkhead would turn most of them away (429 busy): this measures the budget.
    settings.OUTBOUND_CONCURRENCY = settings.OUTBOUND_CONCURRENCY_PER_ORG = DRAFTS
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=CAP)
    # Each answer uses nearly what was reserved, so an unbounded race would show.
    fake_providers.usage_override = {"prompt_tokens": 400, "completion_tokens": MAX_OUTPUT}
    fake_providers.generation_delay = 0.2
    start = threading.Barrier(DRAFTS)
    results: list[str] = []
    lock = threading.Lock()

    def one_draft():
        membership = Membership.objects.select_related("organization", "user").get(
            user=team.member, organization=team.org
        )
        start.wait()
        try:
            generation, _ = message_services.message_draft(
                membership=membership, prompt="Invite everyone to the picnic", tone="warm"
            )
            outcome = "ok"
        except BudgetExhausted as exc:
            outcome = exc.cap.name
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            outcome = repr(exc)
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one_draft) for _ in range(DRAFTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(results) == DRAFTS
    assert set(results) <= {"ok", "ai_token_cap"}, results
    assert "ai_token_cap" in results and "ok" in results
    spent = sum(
        u.input_tokens + u.output_tokens for u in AIUsage.objects.filter(ok=True, purpose="draft")
    )
    counter = UsageCounter.objects.get(organization=team.org, budget=Budget.OWN)
    assert counter.tokens == spent  # every reservation was settled
    prompt = message_services.SYSTEM_PROMPT + message_services._user_prompt(
        "Invite everyone to the picnic", None, "warm"
    )
    one_call_max = estimate_input_tokens(prompt) + MAX_OUTPUT
    assert spent < CAP + one_call_max
