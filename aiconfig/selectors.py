from aiconfig.models import AIConfig, Slot
from common.validators import clean_model_ids
from organizations.models import Organization


def ai_config_for(organization: Organization, slot: str = Slot.PRIMARY) -> AIConfig | None:
    """The organization's AI configuration in `slot` (main key by default), or None. Its model
    list is cleaned as provider answers are: one stored before they were could hold an id no
    page or JSON can carry (a lone surrogate)."""
    config = AIConfig.objects.filter(organization=organization, slot=slot).first()
    if config is not None:
        models = config.available_models
        config.available_models = clean_model_ids(models) if isinstance(models, list) else []
    return config


def ai_configs_for(organization: Organization) -> dict[str, AIConfig]:
    """slot -> configuration, for every slot the organization has filled (one query)."""
    return {c.slot: c for c in AIConfig.objects.filter(organization=organization)}
