"""The AI providers a church can bring a key for. Adding a provider is one entry in
PROVIDERS (plus a client family in clients.py if it speaks a new protocol)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ProviderSpec:
    id: str
    label: str
    family: str  # protocol family, picks the client: "openai" | "gemini" | "anthropic"
    base_url_setting: str | None  # Django setting with the default base URL; None = user-given
    auth: str  # "bearer" | "x-goog-api-key" | "x-api-key"
    default_model: str
    key_check: str  # "generate" | "openrouter_key_then_generate"
    lists_models: bool
    suggested_models: tuple[str, ...]
    # OpenAI's newer models reject max_tokens; other OpenAI-compatible servers may not know
    # max_completion_tokens.
    max_tokens_field: str = "max_tokens"


PROVIDERS: dict[str, ProviderSpec] = {
    spec.id: spec
    for spec in (
        ProviderSpec(
            id="gemini",
            label="Google Gemini",
            family="gemini",
            base_url_setting="GEMINI_BASE_URL",
            auth="x-goog-api-key",
            default_model="gemini-2.5-flash",
            key_check="generate",
            lists_models=True,
            suggested_models=("gemini-2.5-flash", "gemini-flash-latest", "gemini-3.8-flash"),
        ),
        ProviderSpec(
            id="openai",
            label="OpenAI (ChatGPT)",
            family="openai",
            base_url_setting="OPENAI_BASE_URL",
            auth="bearer",
            default_model="gpt-5.4-mini",
            key_check="generate",
            lists_models=True,
            suggested_models=("gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.5", "gpt-4.1-mini"),
            max_tokens_field="max_completion_tokens",
        ),
        ProviderSpec(
            id="deepseek",
            label="DeepSeek",
            family="openai",
            base_url_setting="DEEPSEEK_BASE_URL",
            auth="bearer",
            default_model="deepseek-v4-flash",  # deepseek-chat was retired on 2026-07-24
            key_check="generate",
            lists_models=True,
            suggested_models=("deepseek-v4-flash", "deepseek-v4-pro"),
        ),
        ProviderSpec(
            id="groq",
            label="Groq",
            family="openai",
            base_url_setting="GROQ_BASE_URL",
            auth="bearer",
            default_model="llama-3.3-70b-versatile",
            key_check="generate",
            lists_models=True,
            suggested_models=(
                "llama-3.3-70b-versatile",
                "llama-3.1-8b-instant",
                "openai/gpt-oss-20b",
            ),
        ),
        ProviderSpec(
            id="anthropic",
            label="Anthropic (Claude)",
            family="anthropic",
            base_url_setting="ANTHROPIC_BASE_URL",
            auth="x-api-key",
            default_model="claude-haiku-4-5",
            key_check="generate",
            lists_models=True,
            suggested_models=("claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-7"),
        ),
        ProviderSpec(
            id="mistral",
            label="Mistral AI",
            family="openai",
            base_url_setting="MISTRAL_BASE_URL",
            auth="bearer",
            default_model="mistral-small-latest",
            key_check="generate",
            lists_models=True,
            suggested_models=(
                "mistral-small-latest",
                "mistral-medium-latest",
                "mistral-large-latest",
            ),
        ),
        ProviderSpec(
            id="openrouter",
            label="OpenRouter",
            family="openai",
            base_url_setting="OPENROUTER_BASE_URL",
            auth="bearer",
            default_model="openai/gpt-4o-mini",
            # Its model list is public, so only GET /key proves the key.
            key_check="openrouter_key_then_generate",
            lists_models=True,
            suggested_models=("openai/gpt-4o-mini",),
            max_tokens_field="max_completion_tokens",
        ),
        ProviderSpec(
            id="custom",
            label="Custom server (OpenAI-compatible: Ollama, vLLM, LM Studio)",
            family="openai",
            base_url_setting=None,
            auth="bearer",
            default_model="llama3.2",
            key_check="generate",
            lists_models=True,
            suggested_models=(),
        ),
    )
}


def get_provider(provider_id: str) -> ProviderSpec:
    """The spec for `provider_id`; KeyError for an unknown id."""
    return PROVIDERS[provider_id]


def provider_choices() -> list[tuple[str, str]]:
    return [(spec.id, spec.label) for spec in PROVIDERS.values()]


def default_model_for(provider_id: str) -> str:
    """The default model, overridable per provider with a `<ID>_DEFAULT_MODEL` setting."""
    spec = get_provider(provider_id)
    return getattr(settings, f"{spec.id.upper()}_DEFAULT_MODEL", None) or spec.default_model


def base_url_for(provider_id: str, custom_base_url: str | None = None) -> tuple[str, bool]:
    """(base URL without trailing slash, guarded). Operator-set URLs are trusted; a
    user-given one (the custom provider) must go through the SSRF guard. ValueError when
    the custom provider has no base URL."""
    spec = get_provider(provider_id)
    if spec.base_url_setting is not None:
        return getattr(settings, spec.base_url_setting).rstrip("/"), False
    url = (custom_base_url or "").strip()
    if not url:
        raise ValueError("This provider needs a base URL.")
    return url.rstrip("/"), True
