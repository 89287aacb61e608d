"""`check --deploy`: the platform's managed AI key (Enterprise), when the operator gives one."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ValidationError

from aiconfig.providers import PROVIDERS, get_provider
from common.validators import validate_base_url, validate_model_name

PLATFORM_SETTINGS = (
    "PLATFORM_AI_PROVIDER",
    "PLATFORM_AI_API_KEY",
    "PLATFORM_AI_MODEL",
    "PLATFORM_AI_BASE_URL",
)


def _error(message: str, hint: str, number: int) -> Error:
    return Error(message, hint=hint, id=f"aiconfig.E{number:03d}")


def _provider_and_key_errors() -> list[Error]:
    errors = []
    if settings.PLATFORM_AI_PROVIDER not in PROVIDERS:
        errors.append(
            _error(
                "PLATFORM_AI_PROVIDER is not a known provider.",
                f"Use one of: {', '.join(PROVIDERS)}.",
                1,
            )
        )
    key = settings.PLATFORM_AI_API_KEY
    if not key:
        errors.append(_error("PLATFORM_AI_API_KEY is empty.", "Set the platform's key.", 2))
    elif not all("!" <= ch <= "~" for ch in key):
        errors.append(
            _error(
                "PLATFORM_AI_API_KEY contains spaces or invisible characters.",
                "Copy the key again from the provider's dashboard.",
                3,
            )
        )
    if settings.PLATFORM_AI_MODEL:
        try:
            validate_model_name(settings.PLATFORM_AI_MODEL)
        except ValidationError as exc:
            errors.append(_error(f"PLATFORM_AI_MODEL: {exc.messages[0]}", "Fix the model.", 4))
    return errors


def _base_url_errors() -> list[Error]:
    provider, url = settings.PLATFORM_AI_PROVIDER, settings.PLATFORM_AI_BASE_URL
    if not url:
        if provider in PROVIDERS and get_provider(provider).base_url_setting is None:
            return [
                _error(
                    "PLATFORM_AI_BASE_URL is empty but the custom provider needs it.",
                    "Set the https:// address of the OpenAI-compatible server.",
                    5,
                )
            ]
        return []
    try:
        validate_base_url(url)
    except ValidationError as exc:
        return [_error(f"PLATFORM_AI_BASE_URL: {exc.messages[0]}", "Fix the URL.", 6)]
    if not url.startswith("https://"):
        return [
            _error(
                "PLATFORM_AI_BASE_URL is not https.",
                "The platform's key must not travel in clear text.",
                7,
            )
        ]
    return []


@register(deploy=True)
def check_platform_ai_key(app_configs, **kwargs):
    """Either none of PLATFORM_AI_* is set (no managed key), or they describe a usable key.
    Messages never repeat the key."""
    if not any(getattr(settings, name) for name in PLATFORM_SETTINGS):
        return []
    return _provider_and_key_errors() + _base_url_errors()
