from aiconfig.models import AIConfig
from organizations.models import Organization


def ai_config_for(organization: Organization) -> AIConfig | None:
    """The organization's AI configuration, or None (one query)."""
    return AIConfig.objects.filter(organization=organization).first()
