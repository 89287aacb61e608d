"""AI providers and their errors in words on the pages (never a slug or an error code)."""

from django import template

from aiconfig.providers import provider_label as _provider_label

register = template.Library()

# A few words per failure, for lists and summaries (the form shows the full advice).
ERROR_SUMMARIES = {
    "invalid_api_key": "the provider did not accept the key",
    "permission_denied": "the key may not use this model",
    "insufficient_quota": "no credit or quota left",
    "rate_limited": "the provider was limiting requests",
    "model_not_found": "the model is not available",
    "timeout": "the provider did not answer in time",
    "unreachable": "the provider could not be reached",
    "blocked_address": "the server address is not allowed",
    "invalid_response": "the provider's answer was not understood",
    "provider_error": "the provider reported an error",
    "key_unreadable": "the stored key can no longer be read",
}


@register.filter
def provider_label(provider_id: str) -> str:
    """ "openai" -> "OpenAI (ChatGPT)"."""
    return _provider_label(provider_id or "")


@register.filter
def ai_error_summary(error_code: str) -> str:
    return ERROR_SUMMARIES.get(error_code or "", "an error")
