"""The WhatsApp number's credentials, as the shared credential-settings mechanism sees them."""

from common.credentials import CredentialSettings
from organizations import audit
from whatsapp import health, services
from whatsapp.forms import WhatsAppConfigForm
from whatsapp.selectors import whatsapp_config_for
from whatsapp.serializers import (
    WhatsAppConfigInputSerializer,
    WhatsAppConfigResponseSerializer,
    WhatsAppConfigSavedSerializer,
    WhatsAppFailureSerializer,
    WhatsAppTestFailedSerializer,
    WhatsAppTestPassedSerializer,
)


def _remove_warning(config) -> str:
    number = config.display_phone_number or config.phone_number_id
    return (
        f"The connection to {number} will be deleted, with its access token. Sending messages "
        "stops until someone connects a number again, and Meta's webhook deliveries will be "
        "refused."
    )


WHATSAPP_NUMBER = CredentialSettings(
    slug="whatsapp",
    title="WhatsApp (Meta Cloud API)",
    noun="WhatsApp configuration",
    secret_noun="token",
    secret_fields=("access_token", "app_secret"),
    bound_fields=(),
    form=WhatsAppConfigForm,
    input_serializer=WhatsAppConfigInputSerializer,
    config_for=whatsapp_config_for,
    organization_relation="whatsapp_config",
    test=services.whatsapp_config_test,
    refusal=services.VerificationFailed,
    save=services.whatsapp_config_save,
    remove=services.whatsapp_config_delete,
    remove_warning=_remove_warning,
    audit_actions=(
        audit.WHATSAPP_CONFIG_CREATED,
        audit.WHATSAPP_CONFIG_UPDATED,
        audit.WHATSAPP_CONFIG_DELETED,
    ),
    throttle_scope="whatsapp_test",
    settings_serializer=WhatsAppConfigResponseSerializer,
    saved_serializer=WhatsAppConfigSavedSerializer,
    test_passed_serializer=WhatsAppTestPassedSerializer,
    test_failed_serializer=WhatsAppTestFailedSerializer,
    failure_serializer=WhatsAppFailureSerializer,
    api_path="settings/whatsapp-meta",
    api_name="api-whatsapp",
    api_tag="whatsapp-settings",
    checked_by="Meta",
    test_label="Test connection",
    test_busy_text="Checking with Meta…",
    save_busy_text="Checking with Meta and saving…",
    unreadable_message=services.TOKEN_UNREADABLE_MESSAGE,
    empty_text="No WhatsApp number is connected yet.",
    health_advice=health.advice,
)
