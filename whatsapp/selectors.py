from organizations.models import Organization
from whatsapp.models import WhatsAppConfig


def whatsapp_config_for(organization: Organization) -> WhatsAppConfig | None:
    """The organization's WhatsApp configuration, or None (one query, none when it was loaded
    with the organization: select_related("organization__whatsapp_config"))."""
    relation = Organization.whatsapp_config.related
    if relation.is_cached(organization):
        return relation.get_cached_value(organization)
    return WhatsAppConfig.objects.filter(organization=organization).first()


def whatsapp_config_for_webhook(webhook_id: str) -> WhatsAppConfig | None:
    if not webhook_id or len(webhook_id) > 64:
        return None
    return (
        WhatsAppConfig.objects.select_related("organization").filter(webhook_id=webhook_id).first()
    )
