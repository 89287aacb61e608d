"""`check --deploy`: the platform's managed AI key (Enterprise), when the operator gives one,
and its model's price."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ValidationError

from aiconfig.providers import PROVIDERS, base_url_problem, default_model_for, get_provider
from common.validators import validate_base_url, validate_model_name
from plans.prices import price_table

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
        if provider in PROVIDERS and base_url_problem(provider, url):
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


def _price_problems() -> list[Error | Warning]:
    """The platform's model must be in the price table: what Enterprise organizations spend
    with it is invoiced from the ledger's cost, and a platform cost cap refuses an unpriced
    model (cost_unknown). An Error for a hosted provider (the operator pays per token); only a
    Warning for the custom provider, whose self-hosted models have no list price."""
    provider = settings.PLATFORM_AI_PROVIDER
    if provider not in PROVIDERS:
        return []  # E001 already says so
    model = settings.PLATFORM_AI_MODEL or default_model_for(provider)
    if price_table().price_for(provider, model) is not None:
        return []
    message = (
        f"The platform's model {model} ({provider}) is not in the price table "
        f"{settings.AI_PRICE_TABLE}: its cost is unknown, so Enterprise use cannot be invoiced "
        "and a platform cost cap refuses every call (cost_unknown)."
    )
    hint = (
        "Add the model's price to the price table (or name your own with AI_PRICE_TABLE), "
        "or set PLATFORM_AI_MODEL to a priced model."
    )
    if get_provider(provider).takes_base_url:
        return [Warning(message, hint=hint, id="aiconfig.W001")]
    return [_error(message, hint, 8)]


@register(deploy=True)
def check_platform_ai_key(app_configs, **kwargs):
    """Either none of PLATFORM_AI_* is set (no managed key), or they describe a usable, priced
    key. Messages never repeat the key."""
    if not any(getattr(settings, name) for name in PLATFORM_SETTINGS):
        return []
    return _provider_and_key_errors() + _base_url_errors() + _price_problems()
