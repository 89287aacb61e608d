"""The AI providers a church can bring a key for. Adding a provider is one entry in
PROVIDERS (plus a client family in clients.py if it speaks a new protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Family(StrEnum):
    """The protocol a provider speaks; picks the client in clients.py."""

    OPENAI = "openai"  # OpenAI-compatible chat completions
    GEMINI = "gemini"
    ANTHROPIC = "anthropic"


class KeyCheck(StrEnum):
    """How a key test proves the key."""

    GENERATE = "generate"
    # OpenRouter's model list is public, so only GET /key proves the key.
    OPENROUTER_KEY_THEN_GENERATE = "openrouter_key_then_generate"


@dataclass(frozen=True)
class AuthStyle:
    """How a provider expects the key: in which header, after which prefix."""

    header: str
    prefix: str = ""

    def headers_for(self, key: str) -> dict[str, str]:
        return {self.header: self.prefix + key}


BEARER = AuthStyle("Authorization", "Bearer ")
GOOGLE_API_KEY = AuthStyle("x-goog-api-key")
X_API_KEY = AuthStyle("x-api-key")

BASE_URL_REQUIRED = "Enter the base URL of your OpenAI-compatible server."
BASE_URL_UNUSED = "A base URL is only used with the custom provider."


@dataclass(frozen=True)
class ProviderSpec:
    id: str
    label: str
    family: Family
    base_url_setting: str | None  # Django setting with the default base URL; None = user-given
    auth: AuthStyle
    default_model: str
    key_check: KeyCheck
    # OpenAI's newer models reject max_tokens; other OpenAI-compatible servers may not know
    # max_completion_tokens.
    max_tokens_field: str = "max_tokens"
    # A self-hosted server (Ollama, vLLM) may run without a key.
    key_required: bool = True
    # The shortest key the provider issues: a shorter one is a truncated copy, refused before
    # any call (0: any length, for self-hosted servers).
    min_key_length: int = 0
    # OpenAI answers a restricted key with a 401 whose error code is null (the client always
    # sends a key, so OpenAI's "no key provided" 401, also code null, cannot occur).
    null_code_401_is_restricted_key: bool = False

    @property
    def takes_base_url(self) -> bool:
        """The user gives the base URL (no operator setting holds it)."""
        return self.base_url_setting is None


PROVIDERS: dict[str, ProviderSpec] = {
    spec.id: spec
    for spec in (
        ProviderSpec(
            id="gemini",
            min_key_length=39,
            label="Google Gemini",
            family=Family.GEMINI,
            base_url_setting="GEMINI_BASE_URL",
            auth=GOOGLE_API_KEY,
            default_model="gemini-2.5-flash",
            key_check=KeyCheck.GENERATE,
        ),
        ProviderSpec(
            id="openai",
            min_key_length=40,
            label="OpenAI (ChatGPT)",
            family=Family.OPENAI,
            base_url_setting="OPENAI_BASE_URL",
            auth=BEARER,
            default_model="gpt-5.4-mini",
            key_check=KeyCheck.GENERATE,
            max_tokens_field="max_completion_tokens",
            null_code_401_is_restricted_key=True,
        ),
        ProviderSpec(
            id="deepseek",
            min_key_length=35,
            label="DeepSeek",
            family=Family.OPENAI,
            base_url_setting="DEEPSEEK_BASE_URL",
            auth=BEARER,
            default_model="deepseek-v4-flash",  # deepseek-chat was retired on 2026-07-24
            key_check=KeyCheck.GENERATE,
        ),
        ProviderSpec(
            id="groq",
            min_key_length=50,
            label="Groq",
            family=Family.OPENAI,
            base_url_setting="GROQ_BASE_URL",
            auth=BEARER,
            default_model="llama-3.3-70b-versatile",
            key_check=KeyCheck.GENERATE,
        ),
        ProviderSpec(
            id="anthropic",
            min_key_length=50,
            label="Anthropic (Claude)",
            family=Family.ANTHROPIC,
            base_url_setting="ANTHROPIC_BASE_URL",
            auth=X_API_KEY,
            default_model="claude-haiku-4-5",
            key_check=KeyCheck.GENERATE,
        ),
        ProviderSpec(
            id="mistral",
            min_key_length=32,
            label="Mistral AI",
            family=Family.OPENAI,
            base_url_setting="MISTRAL_BASE_URL",
            auth=BEARER,
            default_model="mistral-small-latest",
            key_check=KeyCheck.GENERATE,
        ),
        ProviderSpec(
            id="openrouter",
            min_key_length=60,
            label="OpenRouter",
            family=Family.OPENAI,
            base_url_setting="OPENROUTER_BASE_URL",
            auth=BEARER,
            default_model="openai/gpt-4o-mini",
            key_check=KeyCheck.OPENROUTER_KEY_THEN_GENERATE,
            max_tokens_field="max_completion_tokens",
        ),
        ProviderSpec(
            id="custom",
            label="Custom server (OpenAI-compatible: Ollama, vLLM, LM Studio)",
            family=Family.OPENAI,
            base_url_setting=None,
            auth=BEARER,
            default_model="llama3.2",
            key_check=KeyCheck.GENERATE,
            key_required=False,
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


def providers_taking_base_url() -> list[str]:
    return [spec.id for spec in PROVIDERS.values() if spec.takes_base_url]


def base_url_problem(provider_id: str, base_url: str | None) -> str | None:
    """The base-URL rule, in one place: a provider whose address the user gives needs one, the
    others take none. The message to show, or None when the pair is fine."""
    takes = get_provider(provider_id).takes_base_url
    if takes and not (base_url or "").strip():
        return BASE_URL_REQUIRED
    if not takes and (base_url or "").strip():
        return BASE_URL_UNUSED
    return None


def base_url_for(provider_id: str, custom_base_url: str | None = None) -> tuple[str, bool]:
    """(base URL without trailing slash, guarded). Operator-set URLs are trusted; a
    user-given one (the custom provider) must go through the SSRF guard. ValueError when
    the custom provider has no base URL."""
    spec = get_provider(provider_id)
    if not spec.takes_base_url:
        return getattr(settings, spec.base_url_setting).rstrip("/"), False
    if base_url_problem(provider_id, custom_base_url):
        raise ValueError(BASE_URL_REQUIRED)
    return custom_base_url.strip().rstrip("/"), True


def provider_label(provider_id: str) -> str:
    """What pages call a provider: "openai" -> "OpenAI (ChatGPT)" (an unknown id as it is)."""
    spec = PROVIDERS.get(provider_id)
    return spec.label if spec else provider_id
