"""Health of the stored AI key: the periodic check, the threshold, one email, what clears it."""

import logging
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from aiconfig import services, tasks
from aiconfig.models import AIConfig
from common.credential_health import HealthStatus
from common.tasks import claim
from devtools.fakes.providers import NEW_KEYS, VALID_KEYS
from organizations.audit import CREDENTIAL_HEALTH_CLEARED as CLEARED
from organizations.audit import CREDENTIAL_NEEDS_ATTENTION as NEEDS_ATTENTION
from organizations.models import AuditEvent
from plans.models import AIUsage

OLD_KEY, NEW_KEY = VALID_KEYS["openai"], NEW_KEYS["openai"]
BACKUP_KEY = "sk-proj-BACKUPkeyOPENAI0123456789abcdefBKUP"


def save_key(team, key=OLD_KEY):
    return services.ai_config_save(
        membership=team.membership(team.owner), provider="openai", api_key=key
    )


def run_round():
    """One health round: every stored key is due now."""
    AIConfig.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    tasks.ai_health_round()


@pytest.mark.django_db(transaction=True)
def test_it_turns_a_revoked_key_into_needs_attention_after_two_rounds(team, fake_providers):
    save_key(team)
    mail.outbox.clear()
    fake_providers.revoke_key(OLD_KEY)

    run_round()
    config = AIConfig.objects.get()
    assert config.health_status == HealthStatus.FAILING
    assert config.consecutive_auth_failures == 1
    assert config.last_check_ok is False and config.last_error_code == "invalid_api_key"
    assert mail.outbox == []

    run_round()
    config.refresh_from_db()
    assert config.health_status == HealthStatus.NEEDS_ATTENTION
    assert config.consecutive_auth_failures == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@grace.test", "owner@grace.test"]
    assert "AI provider key" in mail.outbox[0].subject
    assert "did not accept this API key" in mail.outbox[0].body
    assert OLD_KEY not in mail.outbox[0].body
    assert AuditEvent.objects.filter(action=NEEDS_ATTENTION, organization=team.org).count() == 1

    run_round()  # still broken: no second email, no second audit event
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action=NEEDS_ATTENTION).count() == 1

    save_key(team, NEW_KEY)
    config.refresh_from_db()
    assert config.health_status == HealthStatus.OK
    assert config.consecutive_auth_failures == 0 and config.attention_notified_at is None
    assert AuditEvent.objects.filter(action=CLEARED, organization=team.org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_checks_with_a_minimal_generation_not_the_model_list(team, fake_providers):
    save_key(team)
    fake_providers.reset()
    run_round()
    requests = fake_providers.requests_for("openai")
    assert [r.path for r in requests] == ["/openai/v1/chat/completions"]
    assert requests[0].json["max_completion_tokens"] == 16
    config = AIConfig.objects.get()
    assert config.health_status == HealthStatus.OK and config.last_check_ok is True
    assert config.last_checked_at is not None


@pytest.mark.django_db(transaction=True)
def test_it_needs_attention_at_once_when_the_quota_is_exhausted(team, fake_providers):
    save_key(team)
    mail.outbox.clear()
    fake_providers.set_scenario("openai", "no_credit")
    run_round()
    config = AIConfig.objects.get()
    assert config.health_status == HealthStatus.NEEDS_ATTENTION
    assert config.last_error_code == "insufficient_quota"
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scenario", ["rate_limited", "server_error"])
def test_it_counts_transient_errors_as_failing_not_towards_the_threshold(
    team, fake_providers, scenario
):
    save_key(team)
    fake_providers.set_scenario("openai", scenario)
    for _ in range(3):
        run_round()
    config = AIConfig.objects.get()
    assert config.health_status == HealthStatus.FAILING
    assert config.consecutive_auth_failures == 0
    assert mail.outbox == [] or all("invited" in m.body for m in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_needs_attention_through_a_transient_error(team, fake_providers):
    save_key(team)
    fake_providers.revoke_key(OLD_KEY)
    run_round()
    run_round()
    fake_providers.set_scenario("openai", "server_error")
    run_round()
    assert AIConfig.objects.get().health_status == HealthStatus.NEEDS_ATTENTION


@pytest.mark.django_db(transaction=True)
def test_it_clears_on_a_successful_test_of_the_stored_key(team, fake_providers):
    save_key(team)
    fake_providers.revoke_key(OLD_KEY)
    run_round()
    run_round()
    fake_providers.restore_key(OLD_KEY)
    result = services.ai_config_test(membership=team.membership(team.admin), provider="openai")
    assert result.success
    assert AIConfig.objects.get().health_status == HealthStatus.OK
    assert AuditEvent.objects.filter(action=CLEARED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_round_queues_each_key_once_and_spreads_new_ones(team, fake_providers, settings):
    settings.HEALTH_CHECK_INTERVAL_HOURS = 6
    save_key(team)
    config = AIConfig.objects.get()
    saved_at = config.last_checked_at  # the save's own test counts as a check
    assert config.next_check_at is None and config.health_status == HealthStatus.OK
    tasks.ai_health_round()  # not scheduled yet: gets a time within the next interval
    config.refresh_from_db()
    now = timezone.now()
    assert now <= config.next_check_at <= now + timedelta(hours=6)
    assert config.last_checked_at == saved_at

    run_round()
    config.refresh_from_db()
    checked_at = config.last_checked_at
    assert checked_at is not None
    # The next check is one interval later, give or take the jitter.
    assert timedelta(hours=5.3) <= config.next_check_at - checked_at <= timedelta(hours=6.7)
    tasks.ai_health_round()  # nothing due: nothing checked
    config.refresh_from_db()
    assert config.last_checked_at == checked_at


@pytest.mark.django_db(transaction=True)
def test_a_check_already_made_for_its_due_time_is_not_made_again(team, fake_providers):
    save_key(team)
    due = timezone.now()
    tasks.check_ai_key(team.org.id, due)
    checked_at = AIConfig.objects.get().last_checked_at
    assert checked_at >= due
    fake_providers.reset()
    tasks.check_ai_key(team.org.id, due)  # the same task, run twice
    assert fake_providers.requests_for("openai") == []
    assert AIConfig.objects.get().last_checked_at == checked_at


def test_it_runs_the_round_and_the_checks_through_a_real_consumer(
    team, fake_providers, huey_consumer
):
    save_key(team)
    mail.outbox.clear()
    fake_providers.revoke_key(OLD_KEY)
    for _ in range(2):
        AIConfig.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
        tasks.ai_health_round()  # enqueued: the consumer runs it, which queues the check
        huey_consumer.wait_idle()
    assert huey_consumer.completed("ai_health_round") == 2
    assert huey_consumer.completed("check_ai_key") == 2
    assert huey_consumer.errors() == []
    config = AIConfig.objects.get()
    assert config.health_status == HealthStatus.NEEDS_ATTENTION
    assert len(mail.outbox) == 2


# --- a main and a backup key -----------------------------------------------------------------


def store_both_keys(team, fake_providers):
    """A Pro organization with a main and a backup key (both OpenAI, told apart by the key)."""
    team.org.plan = "pro"
    team.org.save()
    fake_providers.add_key(BACKUP_KEY)
    for slot, key in (("primary", OLD_KEY), ("backup", BACKUP_KEY)):
        AIConfig.objects.create(
            organization=team.org, slot=slot, provider="openai", api_key=key, model="gpt-4o-mini"
        )


def calls_per_key(fake_providers) -> Counter:
    return Counter(
        r.headers.get("authorization", "").removeprefix("Bearer ")
        for r in fake_providers.requests_for("openai")
    )


def test_it_checks_each_key_once_a_round_when_there_is_a_backup_key(
    team, fake_providers, huey_consumer
):
    store_both_keys(team, fake_providers)
    now = timezone.now()
    # Each key has its own time in the round: the main key's now, the backup key's a moment on.
    AIConfig.objects.filter(slot="primary").update(next_check_at=now - timedelta(seconds=1))
    AIConfig.objects.filter(slot="backup").update(next_check_at=now + timedelta(seconds=1))
    tasks.ai_health_round()
    huey_consumer.wait_idle()
    assert huey_consumer.completed("check_ai_key") == 2
    assert calls_per_key(fake_providers) == {OLD_KEY: 1, BACKUP_KEY: 1}
    assert all(c.last_checked_at >= now for c in AIConfig.objects.all())


@pytest.mark.django_db(transaction=True)
def test_it_meters_each_health_check_on_its_own_key(team, fake_providers):
    store_both_keys(team, fake_providers)
    run_round()
    usage = AIUsage.objects.filter(purpose="health_check").order_by("credential")
    assert [(u.credential, u.ok, u.organization_id) for u in usage] == [
        ("backup", True, team.org.id),
        ("primary", True, team.org.id),
    ]
    assert all(u.provider == "openai" and u.input_tokens for u in usage)
    assert AIUsage.objects.count() == 2  # nothing else was called


@pytest.mark.django_db(transaction=True)
def test_it_meters_a_failed_health_check_too(team, fake_providers):
    store_both_keys(team, fake_providers)
    fake_providers.revoke_key(BACKUP_KEY)
    run_round()
    failed = AIUsage.objects.get(purpose="health_check", ok=False)
    assert failed.credential == "backup" and failed.error_code == "invalid_api_key"


def test_a_check_that_finds_the_claim_busy_is_retried_without_an_error(
    team, fake_providers, huey_consumer, caplog
):
    save_key(team)
    fake_providers.reset()
    with (
        caplog.at_level(logging.INFO),
        claim(f"health-check:{team.org.id}", stale_after=timedelta(minutes=5)),
    ):
        tasks.check_ai_key(team.org.id, timezone.now())
        huey_consumer.wait_idle(include_scheduled=False)
    assert huey_consumer.errors() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert HUEY.scheduled_count() == 1  # it runs again after its retry delay
    assert fake_providers.requests_for("openai") == []
