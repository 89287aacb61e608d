"""The AI provider key, as the shared credential-settings mechanism sees it."""

from aiconfig import services
from aiconfig.forms import AIConfigForm
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
)
