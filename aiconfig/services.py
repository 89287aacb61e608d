"""Writes for AI settings. A key is saved only after it passed a live test with its provider."""

from django.db import transaction
from django.utils import timezone

from aiconfig import clients, health
from aiconfig.models import AIConfig
from aiconfig.providers import default_model_for, get_provider
from aiconfig.selectors import ai_config_for
from common.errors import NotAllowed, ServiceError
from common.http import bulkhead
from organizations import audit
from organizations.models import Membership, Organization, User
from organizations.services import audit_record

KEY_UNREADABLE_MESSAGE = (
    "The stored API key can no longer be read (the encryption key changed). "
    "Enter the API key again and save."
)


class KeyTestFailed(ServiceError):
    """The provider refused the credentials: carries the classified test result."""

    def __init__(self, result: clients.KeyTestResult):
        super().__init__(result.error, code=result.error_code)
        self.result = result


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can change the AI settings.")


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
    *, membership: Membership, provider: str, api_key: str | None, base_url: str | None
) -> str:
    """The key to test: the one given, else the stored one (see stored_key_for)."""
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
    config = ai_config_for(membership.organization)
    return stored_key_for(config, provider=provider, base_url=base_url)


def ai_config_test(
    *,
    membership: Membership,
    provider: str,
    api_key: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> clients.KeyTestResult:
    """Tests credentials against the provider. Saves nothing."""
    _require_manager(membership)
    key = _resolve_key(membership=membership, provider=provider, api_key=api_key, base_url=base_url)
    with bulkhead(organization_id=membership.organization_id):
        result = clients.test_key(
            provider=provider,
            api_key=key,
            model=model or default_model_for(provider),
            base_url=base_url or None,
        )
    if not api_key:  # the stored key was tested: its health learns the answer
        config = ai_config_for(membership.organization)
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
) -> AIConfig:
    """Tests the credentials first and saves them only when the provider accepts them."""
    _require_manager(membership)
    model = model or default_model_for(provider)
    key = _resolve_key(membership=membership, provider=provider, api_key=api_key, base_url=base_url)
    # The network call stays outside the transaction: no row is locked while a provider thinks.
    with bulkhead(organization_id=membership.organization_id):
        result = clients.test_key(
            provider=provider, api_key=key, model=model, base_url=base_url or None
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
    )
    return config


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
) -> AIConfig:
    """Stores credentials that just passed a live test, and records who changed them."""
    config, created = AIConfig.objects.select_for_update().get_or_create(
        organization=organization,
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
        action=audit.AI_CONFIG_CREATED if created else audit.AI_CONFIG_UPDATED,
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


def ai_config_delete(*, membership: Membership, ip: str | None = None) -> bool:
    _require_manager(membership)
    return ai_config_remove(organization=membership.organization, actor=membership.user, ip=ip)


@transaction.atomic
def ai_config_remove(
    *, organization: Organization, actor: User | None, ip: str | None = None
) -> bool:
    """Deletes the organization's AI configuration and records who did it."""
    config = AIConfig.objects.select_for_update().filter(organization=organization).first()
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
        action=audit.AI_CONFIG_DELETED,
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


def ai_config_test_stored(*, config: AIConfig) -> clients.KeyTestResult | None:
    """Re-tests a stored configuration (admin action) and records the outcome.

    None when the stored key is unreadable."""
    if config.key_unreadable:
        ai_config_record_test(config=config, ok=False, error_code="key_unreadable")
        return None
    with bulkhead(organization_id=config.organization_id):
        result = clients.test_key(
            provider=config.provider,
            api_key=config.api_key,
            model=config.model,
            base_url=config.base_url or None,
        )
    ai_config_record_test(config=config, ok=result.success, error_code=result.error_code)
    return result
