from aiconfig.models import AIConfig, Slot
from organizations.models import Organization


def ai_config_for(organization: Organization, slot: str = Slot.PRIMARY) -> AIConfig | None:
    """The organization's AI configuration in `slot` (main key by default), or None."""
    return AIConfig.objects.filter(organization=organization, slot=slot).first()


def ai_configs_for(organization: Organization) -> dict[str, AIConfig]:
    """slot -> configuration, for every slot the organization has filled (one query)."""
    return {c.slot: c for c in AIConfig.objects.filter(organization=organization)}
