"""Writes for AI settings, and the one way to call an AI provider for an organization.

A key is saved only after it passed a live test with its provider. Every call (drafts, template
drafting, key tests, health checks) is metered and budgeted through plans.services.ai_spend;
`ai_generate` adds the choice of key and the fail-over to the next one."""

import logging

from django.db import transaction
from django.utils import timezone

from aiconfig import clients, health
from aiconfig.models import AIConfig, Slot
from aiconfig.providers import default_model_for, get_provider
from aiconfig.resolution import (
    KEY_UNREADABLE_MESSAGE,
    Credential,
    cool_down,
    credentials_for,
    in_trying_order,
)
from aiconfig.selectors import ai_config_for
from common.errors import NotAllowed, ServiceError
from common.http import bulkhead
from organizations import audit
from organizations.models import Membership, Organization, User
from organizations.services import audit_record
from plans.models import Purpose
from plans.registry import plan_for
from plans.services import BudgetExhausted, ai_spend

logger = logging.getLogger(__name__)

__all__ = ["KEY_UNREADABLE_MESSAGE"]  # re-exported: callers knew it from here

# Failures that mean the stored credentials themselves no longer work: they feed its health.
CREDENTIAL_FAILURES = {
    "invalid_api_key",
    "permission_denied",
    "insufficient_quota",
    "model_not_found",
}
# Failures after which the key rests (AI_FAILOVER_COOLDOWN_SECONDS) and the call moves on.
COOLDOWN_FAILURES = {"rate_limited", "insufficient_quota", "timeout", "provider_error"}
# A key the provider refuses is not retried on the same key, but the next key may serve.
FAILOVER_FAILURES = COOLDOWN_FAILURES | {"invalid_api_key", "permission_denied"}


class KeyTestFailed(ServiceError):
    """The provider refused the credentials: carries the classified test result."""

    def __init__(self, result: clients.KeyTestResult):
        super().__init__(result.error, code=result.error_code)
        self.result = result


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can change the AI settings.")


def _require_slot_in_plan(organization: Organization, slot: str) -> None:
    if slot == Slot.BACKUP and not plan_for(organization).backup_key:
        raise NotAllowed(
            "A backup key is part of the Pro and Enterprise plans.", code="not_in_plan"
        )


def _same_server(a: str | None, b: str | None) -> bool:
    return (a or "").strip().rstrip("/") == (b or "").strip().rstrip("/")


def stored_key_for(config: AIConfig | None, *, provider: str, base_url: str | None) -> str:
    """The stored key, when it may be reused for `provider` at `base_url`.

    A stored key only goes back to where it was saved for: the same provider and, for a
    custom server, the same base URL (else an admin could send it to a server of theirs)."""
    if config is None:
        raise ServiceError("Enter the API key.", field="api_key", code="required")
    if config.provider != provider:
        raise ServiceError(
            "Enter the API key for the new provider: the stored key belongs to another provider.",
            field="api_key",
            code="required",
        )
    if config.base_url and not _same_server(config.base_url, base_url):
        raise ServiceError(
            "Enter the API key again for the new server: the stored key only goes to the "
            "server it was saved for.",
            field="api_key",
            code="required",
        )
    if config.key_unreadable:
        raise ServiceError(KEY_UNREADABLE_MESSAGE, field="api_key", code="key_unreadable")
    return config.api_key


def _resolve_key(
    *,
    membership: Membership,
    provider: str,
    api_key: str | None,
    base_url: str | None,
    slot: str = Slot.PRIMARY,
) -> str:
    """The key to test: the one given, else the one stored in `slot` (see stored_key_for)."""
    if api_key:
        spec = get_provider(provider)
        if len(api_key) < spec.min_key_length:
            raise ServiceError(
                f"This key is shorter than any {spec.label} key "
                f"({spec.min_key_length} characters or more): copy the whole key again.",
                field="api_key",
                code="invalid_api_key",
            )
        return api_key
    config = ai_config_for(membership.organization, slot)
    return stored_key_for(config, provider=provider, base_url=base_url)


def key_test_metered(
    *,
    organization: Organization,
    credential: str,
    provider: str,
    api_key: str,
    model: str | None,
    base_url: str | None,
    purpose: str = Purpose.KEY_TEST,
    user: User | None = None,
) -> clients.KeyTestResult:
    """clients.test_key, recorded in the usage ledger. Budgets never stop a key test (a
    church must be able to fix its key), but what the test costs counts towards them."""
    model = model or default_model_for(provider)
    with (
        bulkhead(organization_id=organization.pk),
        ai_spend(
            organization=organization,
            credential=credential,
            provider=provider,
            model=model,
            purpose=purpose,
            prompt_text=clients.KEY_TEST_PROMPT,
            max_output_tokens=clients.KEY_TEST_MAX_TOKENS,
            user=user,
            enforce=False,
        ) as call,
    ):
        result = clients.test_key(
            provider=provider, api_key=api_key, model=model, base_url=base_url
        )
        call.settle(
            ok=result.success,
            error_code=result.error_code or "",
            model=result.answered_model or model,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )
    return result


def _test_for_slot(
    *,
    membership: Membership,
    provider: str,
    api_key: str | None,
    model: str | None,
    base_url: str | None,
    slot: str,
) -> tuple[str, clients.KeyTestResult]:
    """Checks the member may, tests the given key (else the one stored in `slot`), metered.
    Returns the key tested and the result."""
    _require_manager(membership)
    _require_slot_in_plan(membership.organization, slot)
    key = _resolve_key(
        membership=membership, provider=provider, api_key=api_key, base_url=base_url, slot=slot
    )
    result = key_test_metered(
        organization=membership.organization,
        credential=slot,
        provider=provider,
        api_key=key,
        model=model,
        base_url=base_url or None,
        user=membership.user,
    )
    return key, result


def ai_config_test(
    *,
    membership: Membership,
    provider: str,
    api_key: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    slot: str = Slot.PRIMARY,
) -> clients.KeyTestResult:
    """Tests credentials against the provider. Saves nothing."""
    key, result = _test_for_slot(
        membership=membership,
        provider=provider,
        api_key=api_key,
        model=model,
        base_url=base_url,
        slot=slot,
    )
    if not api_key:  # the stored key was tested: its health learns the answer
        config = ai_config_for(membership.organization, slot)
        if config is not None:
            health.ai_health_record(
                config=config, result=health.classify(result.error_code), source="test"
            )
    return result


def ai_config_save(
    *,
    membership: Membership,
    provider: str,
    api_key: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    ip: str | None = None,
    slot: str = Slot.PRIMARY,
) -> AIConfig:
    """Tests the credentials first and saves them only when the provider accepts them."""
    model = model or default_model_for(provider)
    # The network call stays outside the transaction: no row is locked while a provider thinks.
    key, result = _test_for_slot(
        membership=membership,
        provider=provider,
        api_key=api_key,
        model=model,
        base_url=base_url,
        slot=slot,
    )
    if not result.success:
        raise KeyTestFailed(result)
    config = ai_config_store(
        organization=membership.organization,
        actor=membership.user,
        provider=provider,
        api_key=key,
        model=model,
        base_url=base_url or "",
        models=result.models,
        key_changed=bool(api_key),
        ip=ip,
        slot=slot,
    )
    return config


AUDIT_ACTIONS = {  # slot -> (created, updated, deleted)
    Slot.PRIMARY: (audit.AI_CONFIG_CREATED, audit.AI_CONFIG_UPDATED, audit.AI_CONFIG_DELETED),
    Slot.BACKUP: (
        audit.AI_BACKUP_CONFIG_CREATED,
        audit.AI_BACKUP_CONFIG_UPDATED,
        audit.AI_BACKUP_CONFIG_DELETED,
    ),
}


@transaction.atomic
def ai_config_store(
    *,
    organization: Organization,
    actor: User | None,
    provider: str,
    api_key: str,
    model: str,
    base_url: str,
    models: list[str],
    key_changed: bool,
    ip: str | None = None,
    slot: str = Slot.PRIMARY,
) -> AIConfig:
    """Stores credentials that just passed a live test, and records who changed them."""
    config, created = AIConfig.objects.select_for_update().get_or_create(
        organization=organization,
        slot=slot,
        defaults={"provider": provider, "api_key": api_key, "model": model},
    )
    config.provider = provider
    config.api_key = api_key
    config.model = model
    config.base_url = base_url
    config.available_models = models
    config.last_tested_at = timezone.now()
    config.last_test_ok = True
    config.last_error_code = ""
    config.updated_by = actor
    config.save()
    # A key that just passed a live test works: whatever the health was, it is ok now.
    health.ai_health_record(config=config, result=health.CHECK_OK, source="save")
    audit_record(
        organization=organization,
        actor=actor,
        action=AUDIT_ACTIONS[slot][0 if created else 1],
        target=provider,
        ip=ip,
        metadata={
            "provider": provider,
            "model": model,
            "base_url": base_url,
            "api_key": config.api_key_masked,
            "key_changed": key_changed,
        },
    )
    return config


def ai_config_delete(
    *, membership: Membership, ip: str | None = None, slot: str = Slot.PRIMARY
) -> bool:
    _require_manager(membership)
    return ai_config_remove(
        organization=membership.organization, actor=membership.user, ip=ip, slot=slot
    )


@transaction.atomic
def ai_config_remove(
    *,
    organization: Organization,
    actor: User | None,
    ip: str | None = None,
    slot: str = Slot.PRIMARY,
) -> bool:
    """Deletes the organization's AI configuration in `slot` and records who did it."""
    config = (
        AIConfig.objects.select_for_update().filter(organization=organization, slot=slot).first()
    )
    if config is None:
        return False
    metadata = {
        "provider": config.provider,
        "model": config.model,
        "api_key": config.api_key_masked,
    }
    config.delete()
    audit_record(
        organization=organization,
        actor=actor,
        action=AUDIT_ACTIONS[slot][2],
        target=metadata["provider"],
        ip=ip,
        metadata=metadata,
    )
    return True


def ai_config_record_test(*, config: AIConfig, ok: bool, error_code: str | None) -> None:
    """Keeps the stored configuration's last test status, and its health, in step with what
    the provider said about the stored key."""
    AIConfig.objects.filter(pk=config.pk).update(last_tested_at=timezone.now(), last_test_ok=ok)
    health.ai_health_record(
        config=config, result=health.classify(None if ok else error_code), source="test"
    )


def ai_config_test_stored(
    *, config: AIConfig, user: User | None = None
) -> clients.KeyTestResult | None:
    """Re-tests a stored configuration (admin action) and records the outcome.

    None when the stored key is unreadable."""
    if config.key_unreadable:
        ai_config_record_test(config=config, ok=False, error_code="key_unreadable")
        return None
    result = key_test_metered(
        organization=config.organization,
        credential=config.slot,
        provider=config.provider,
        api_key=config.api_key,
        model=config.model,
        base_url=config.base_url or None,
        user=user,
    )
    ai_config_record_test(config=config, ok=result.success, error_code=result.error_code)
    return result


# --- calling the AI for an organization -------------------------------------------------------


def _credential_failed(organization: Organization, credential: Credential, exc) -> None:
    """What a failed call tells about the key: rest it, and feed its health."""
    code = exc.error_code
    if code in COOLDOWN_FAILURES and _transient(exc):
        cool_down(credential, code)
    if credential.config is None:
        if code in CREDENTIAL_FAILURES:
            # The platform's key is the operator's to fix; organizations are not told of it.
            logger.error("The platform AI key failed: %s (status %s)", code, exc.status)
        return
    if code in CREDENTIAL_FAILURES:
        # The key's health (issue 11): a refused key turns `needs_attention` and alerts the
        # owners and admins once.
        ai_config_record_test(config=credential.config, ok=False, error_code=code)
    else:  # a transient failure still tells the key's health something
        health.ai_health_record(
            config=credential.config, result=health.classify(code), source="draft"
        )


def _transient(exc) -> bool:
    """5xx, timeouts, rate limits and exhausted quota; not a 4xx the provider blamed on us."""
    if exc.error_code == "provider_error":
        return exc.status is not None and exc.status >= 500
    return True


def _fails_over(exc) -> bool:
    return exc.error_code in FAILOVER_FAILURES and _transient(exc)


def ai_generate(
    *,
    organization: Organization,
    purpose: str,
    prompt: str,
    system: str | None = None,
    max_tokens: int,
    user: User | None = None,
) -> tuple[clients.Generation, Credential]:
    """THE way to generate text for an organization (drafts, template drafting, broadcast
    fills): picks the key (credentials_for), reserves the budget before the provider is
    called and settles after (plans.services.ai_spend), and when the call fails in a way
    another key may not (rate limit, quota, 5xx, timeout, refused key), rests that key and
    retries once on the next one. Returns the generation and the credential that served it.

    Raises NoAICredential (409), BudgetExhausted (402), Busy (429, no outbound slot free) or
    clients.ProviderError."""
    chain = in_trying_order(credentials_for(organization))
    with bulkhead(organization_id=organization.pk):
        return _generate_on(organization, chain, purpose, prompt, system, max_tokens, user)


def _generate_on(organization, chain, purpose, prompt, system, max_tokens, user):
    """ai_generate's loop over the keys, holding one outbound slot."""
    provider_error: clients.ProviderError | None = None
    budget_error: BudgetExhausted | None = None
    calls = 0
    for credential in chain:
        if calls == 2:  # the call and one retry
            break
        try:
            with ai_spend(
                organization=organization,
                credential=credential.name,
                provider=credential.provider,
                model=credential.model,
                purpose=purpose,
                prompt_text=(system or "") + prompt,
                max_output_tokens=max_tokens,
                user=user,
            ) as call:
                calls += 1
                generation = clients.generate(
                    provider=credential.provider,
                    api_key=credential.api_key,
                    model=credential.model,
                    base_url=credential.base_url,
                    prompt=prompt,
                    system=system,
                    max_tokens=max_tokens,
                )
                call.settle(
                    ok=True,
                    model=generation.model,
                    input_tokens=generation.input_tokens,
                    output_tokens=generation.output_tokens,
                )
        except BudgetExhausted as exc:
            # Nothing was spent: a key on another budget (own / platform) may still serve.
            budget_error = budget_error or exc
            continue
        except clients.ProviderError as exc:
            _credential_failed(organization, credential, exc)
            provider_error = exc
            if not _fails_over(exc):
                raise
            continue
        if credential.config is not None:
            # The key works: a draft clears a key that needed attention.
            health.ai_health_record(
                config=credential.config, result=health.CHECK_OK, source="draft"
            )
        return generation, credential
    if provider_error is not None:
        raise provider_error
    raise budget_error
