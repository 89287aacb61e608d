"""Reservations a killed worker never settled are given back by a periodic task, so they
cannot block an organization's budget for the rest of the month."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import api_client
from plans import services, tasks
from plans.models import AIReservation, AIUsage, Budget, UsageCounter
from plans.tests.conftest import GENERATE, set_plan, store_key

pytestmark = pytest.mark.django_db


def leak_a_reservation(org, max_output_tokens=1000):
    """The reserve half of ai_spend, as a worker killed during the provider call leaves it."""
    return services.ai_budget_reserve(
        organization=org,
        credential="primary",
        provider="openai",
        model="gpt-4o-mini",
        purpose="draft",
        prompt_text="Invite everyone to the picnic",
        max_output_tokens=max_output_tokens,
    )


def sweep() -> int:
    """The periodic task's body, run here (the last test runs it through a consumer)."""
    return tasks.release_stale_ai_reservations.call_local()


def age_reservations(by=timedelta(seconds=1)):
    AIReservation.objects.update(created_at=timezone.now() - services.ai_reservation_bound() - by)


def counter(org):
    return UsageCounter.objects.get(organization=org, budget=Budget.OWN)


def draft(user):
    return api_client(user).post(GENERATE, {"prompt": "Sunday service"}, format="json")


def test_it_releases_a_reservation_left_without_settle_once(team):
    reservation = leak_a_reservation(team.org)
    assert counter(team.org).tokens == reservation.tokens > 0
    assert counter(team.org).cost_usd == reservation.cost_usd > 0
    assert sweep() == 0  # still within the bound: in flight
    assert counter(team.org).tokens == reservation.tokens
    age_reservations()
    assert sweep() == 1
    assert (counter(team.org).tokens, counter(team.org).cost_usd) == (0, 0)
    assert not AIReservation.objects.exists()
    assert sweep() == 0  # run twice: nothing more
    assert (counter(team.org).tokens, counter(team.org).cost_usd) == (0, 0)


def test_it_unblocks_a_budget_that_a_leaked_reservation_filled(team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=500)
    leak_a_reservation(team.org, max_output_tokens=600)  # alone, it reaches the cap
    response = draft(team.member)
    assert response.status_code == 402 and response.json()["cap"] == "ai_token_cap"
    age_reservations()
    sweep()
    assert draft(team.member).status_code == 200


def test_it_counts_a_slow_call_once_when_it_settles_after_the_release(team):
    # An ordinary call first, so the counter holds real spending too.
    services.ai_usage_settle(
        reservation=leak_a_reservation(team.org), ok=True, input_tokens=10, output_tokens=5
    )
    slow = leak_a_reservation(team.org)
    age_reservations()
    assert sweep() == 1
    services.ai_usage_settle(reservation=slow, ok=True, input_tokens=30, output_tokens=20)
    assert counter(team.org).tokens == 15 + 50
    assert counter(team.org).cost_usd == sum(u.cost_usd for u in AIUsage.objects.all())


def test_it_leaves_no_reservation_behind_after_drafts(team, fake_providers):
    key = store_key(team.org)
    assert draft(team.member).status_code == 200
    fake_providers.revoke_key(key.api_key)
    assert draft(team.member).status_code >= 400  # a failed call settles too
    assert not AIReservation.objects.exists()
    usage = AIUsage.objects.get(ok=True)
    assert counter(team.org).tokens == usage.input_tokens + usage.output_tokens


def test_it_releases_leaked_reservations_through_a_real_consumer(team, huey_consumer):
    leak_a_reservation(team.org)
    age_reservations()
    for _ in range(2):
        tasks.release_stale_ai_reservations()  # enqueued: a consumer thread runs it
        huey_consumer.wait_idle()
    assert huey_consumer.completed("release_stale_ai_reservations") == 2
    assert huey_consumer.errors() == []
    assert counter(team.org).tokens == 0
    assert not AIReservation.objects.exists()
