"""The AI provider key, as the shared credential-settings mechanism sees it."""

from dataclasses import replace
from functools import partial

from aiconfig import health, services
from aiconfig.forms import AIConfigForm
from aiconfig.models import Slot
from aiconfig.providers import get_provider
from aiconfig.selectors import ai_config_for
from aiconfig.serializers import (
    AIConfigInputSerializer,
    AIConfigResponseSerializer,
    AIConfigSavedSerializer,
    AIKeyFailureSerializer,
    AIKeyTestFailedSerializer,
    AIKeyTestPassedSerializer,
)
from common.credentials import CredentialSettings
from organizations import audit
from plans.registry import plan_for


def _remove_warning(config) -> str:
    key = f" {config.api_key_masked}" if config.api_key_masked else ""
    return (
        f"The {get_provider(config.provider).label} key{key} will be deleted. Drafting messages "
        "with AI stops until someone connects a provider again."
    )


AI_PROVIDER_KEY = CredentialSettings(
    slug="ai",
    title="AI provider",
    noun="AI configuration",
    secret_noun="key",
    secret_fields=("api_key",),
    bound_fields=("provider",),
    form=AIConfigForm,
    input_serializer=AIConfigInputSerializer,
    config_for=ai_config_for,
    # No organization_relation: an organization has a main and a backup key (two rows), so
    # the key is read on its own (one query more than a one-to-one relation would cost).
    test=services.ai_config_test,
    test_passed=lambda result: result.success,
    save=services.ai_config_save,
    remove=services.ai_config_delete,
    remove_warning=_remove_warning,
    audit_actions=(audit.AI_CONFIG_CREATED, audit.AI_CONFIG_UPDATED, audit.AI_CONFIG_DELETED),
    throttle_scope="ai_key_test",
    settings_serializer=AIConfigResponseSerializer,
    saved_serializer=AIConfigSavedSerializer,
    test_passed_serializer=AIKeyTestPassedSerializer,
    test_failed_serializer=AIKeyTestFailedSerializer,
    failure_serializer=AIKeyFailureSerializer,
    api_path="settings/ai-config",
    api_name="api-ai-config",
    api_tag="ai-settings",
    checked_by="the provider",
    test_label="Test API key",
    test_busy_text="Testing the API key with the provider…",
    save_busy_text="Testing and saving…",
    unreadable_message=services.KEY_UNREADABLE_MESSAGE,
    empty_text="No AI provider is connected yet.",
    health_advice=health.advice,
)


def _remove_backup_warning(config) -> str:
    key = f" {config.api_key_masked}" if config.api_key_masked else ""
    return (
        f"The backup {get_provider(config.provider).label} key{key} will be deleted. Drafts "
        "then fail whenever the main key is rate limited, out of credit or down."
    )


# The backup key: the main key's declaration in the backup slot (calls fail over to it in
# aiconfig/services.py, ai_generate), offered by the plans that include it.
AI_BACKUP_KEY = replace(
    AI_PROVIDER_KEY,
    slug="ai-backup",
    title="Backup AI key",
    noun="backup AI configuration",
    config_for=partial(ai_config_for, slot=Slot.BACKUP),
    test=partial(services.ai_config_test, slot=Slot.BACKUP),
    save=partial(services.ai_config_save, slot=Slot.BACKUP),
    remove=partial(services.ai_config_delete, slot=Slot.BACKUP),
    remove_warning=_remove_backup_warning,
    audit_actions=(
        audit.AI_BACKUP_CONFIG_CREATED,
        audit.AI_BACKUP_CONFIG_UPDATED,
        audit.AI_BACKUP_CONFIG_DELETED,
    ),
    api_path="settings/ai-config/backup",
    api_name="api-ai-config-backup",
    test_label="Test backup key",
    test_busy_text="Testing the backup key with the provider…",
    empty_text=(
        "No backup key is set. With one, drafts go on when the main key is rate limited, out "
        "of credit or down."
    ),
    available=lambda organization: plan_for(organization).backup_key,
    unavailable_text=(
        "A backup key, used when the main key fails, is part of the Pro and Enterprise plans."
    ),
)
