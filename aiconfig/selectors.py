from aiconfig.models import AIConfig
from organizations.models import Organization


def ai_config_for(organization: Organization) -> AIConfig | None:
    """The organization's AI configuration, or None (one query, none when it was loaded with
    the organization: select_related("organization__ai_config"))."""
    relation = Organization.ai_config.related
    if relation.is_cached(organization):
        return relation.get_cached_value(organization)
    return AIConfig.objects.filter(organization=organization).first()
