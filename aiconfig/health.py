"""The health of the stored AI key: the background check (the same minimal generation as the key
test, never the model list: public model lists accept revoked keys), and the results of key
tests, saves and drafts, all feeding one state (common/credential_health.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from aiconfig import clients
from aiconfig.models import AIConfig, Slot
from common.credential_health import CHECK_OK, CheckResult, HealthStatus, Outcome
from common.http import bulkhead
from common.tasks import claim
from organizations.credential_health import credential_health_record
from plans.models import Purpose
from plans.services import ai_spend

CREDENTIAL = "AI provider key"
KEY_UNREADABLE = "key_unreadable"
KEY_UNREADABLE_ADVICE = (
    "The stored API key can no longer be read (the encryption key changed). "
    "Enter the API key again and save."
)
# The key itself (or what it may use) was refused: counts towards the threshold.
AUTH_FAILURES = frozenset(
    {"invalid_api_key", "permission_denied", "model_not_found", "blocked_address"}
)
# Needs a person at once: no retry will fix it.
ATTENTION_NOW = frozenset({"insufficient_quota", KEY_UNREADABLE})


def classify(error_code: str | None) -> CheckResult:
    """A key test's or a generation's error code as a health check result."""
    if not error_code:
        return CHECK_OK
    if error_code in ATTENTION_NOW:
        return CheckResult(Outcome.ATTENTION, error_code)
    if error_code in AUTH_FAILURES:
        return CheckResult(Outcome.AUTH_FAILURE, error_code)
    return CheckResult(Outcome.TRANSIENT, error_code)  # timeout, rate limit, provider error


def advice(error_code: str | None) -> str:
    """What the owners and admins should do about `error_code`, in words."""
    if error_code == KEY_UNREADABLE:
        return KEY_UNREADABLE_ADVICE
    return clients.ERROR_MESSAGES.get(error_code or "", clients.ERROR_MESSAGES["provider_error"])


def ai_health_record(*, config: AIConfig, result: CheckResult, source: str) -> None:
    """Feeds one result (check, test, save, draft) into the stored key's health. A success
    other than a check, on a key already known to work, writes nothing."""
    if result.ok and config.health_status == HealthStatus.OK and source != "check":
        return
    credential_health_record(
        model=AIConfig,
        pk=config.pk,
        result=result,
        credential=CREDENTIAL,
        advice=advice,
        source=source,
    )


def _claim_stale_after() -> timedelta:
    # A check takes at most the provider timeout; a claim much older than that was left by
    # a consumer that died.
    return timedelta(seconds=4 * float(settings.AI_PROVIDER_TIMEOUT) + 60)


def ai_health_check(
    *, organization_id: int, due: datetime | None = None, config_id: int | None = None
) -> CheckResult | None:
    """Re-tests the organization's stored key `config_id` (every stored key of the organization
    when None: its main and its backup key) with the provider and records the result.

    Runs while holding the organization's health-check claim (raises common.tasks.ClaimBusy
    when another check of the organization is running). `due` is the round's time for this
    check: a key already checked since then is not checked again (a task run twice). Returns
    the main key's result (else the backup key's), or None when nothing was checked."""
    with claim(f"health-check:{organization_id}", stale_after=_claim_stale_after()):
        configs = AIConfig.objects.filter(organization_id=organization_id)
        if config_id is not None:
            configs = configs.filter(pk=config_id)
        results = {}
        for config in configs.select_related("organization"):
            if due is not None and config.last_checked_at and config.last_checked_at >= due:
                continue
            results[config.slot] = _check_one(config)
        return results.get(Slot.PRIMARY) or next(iter(results.values()), None)


def _check_one(config: AIConfig) -> CheckResult:
    """Checks one stored key, metered in the usage ledger like every AI call (purpose
    health_check, on the key's own slot; budgets never stop a check)."""
    if config.key_unreadable:
        result = CheckResult(Outcome.ATTENTION, KEY_UNREADABLE)
    else:
        # The same outbound slots as requests (raises common.http.Busy when none is free:
        # our capacity says nothing about the key, so the task is retried later).
        with (
            bulkhead(organization_id=config.organization_id),
            ai_spend(
                organization=config.organization,
                credential=config.slot,
                provider=config.provider,
                model=config.model,
                purpose=Purpose.HEALTH_CHECK,
                prompt_text=clients.KEY_TEST_PROMPT,
                max_output_tokens=clients.KEY_TEST_MAX_TOKENS,
                enforce=False,
            ) as call,
        ):
            test = clients.test_key(
                provider=config.provider,
                api_key=config.api_key,
                model=config.model,
                base_url=config.base_url or None,
                list_models=False,
            )
            call.settle(
                ok=test.success,
                error_code=test.error_code or "",
                model=test.answered_model or config.model,
                input_tokens=test.input_tokens,
                output_tokens=test.output_tokens,
            )
        result = classify(test.error_code if not test.success else None)
    ai_health_record(config=config, result=result, source="check")
    return result
