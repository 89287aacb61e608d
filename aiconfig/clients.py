"""Clients for the AI providers, one per protocol family (OpenAI-compatible, Gemini,
Anthropic), used to test a church's key before it is saved and later to draft messages.

Errors are classified by HTTP status and the providers' stable JSON fields (`code`,
`type`, `status`, `reason`), never by message text. Known limits, by design:
- Gemini answers 429 RESOURCE_EXHAUSTED both for rate limits and for exhausted quota: it
  maps to `rate_limited`, whose message also points at billing.
- Anthropic's "credit balance is too low" is a 400 invalid_request_error that only its
  message text tells apart: it maps to `provider_error` (402 billing_error maps to
  `insufficient_quota`).
- DeepSeek's 400 "Model Not Exist" has no stable field: it maps to `provider_error`.
- Groq and Mistral report free-tier exhaustion as 429 rate limits: `rate_limited`.
- An OpenAI 401 with `code: null` is a restricted key (`permission_denied`): the spec's
  `null_code_401_is_restricted_key`.
The API key never goes into a URL, a log line, or an error message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings

from common.http import OutboundError, send
from common.validators import clean_model_ids, clean_provider_text

from .providers import (
    Family,
    KeyCheck,
    ProviderSpec,
    base_url_for,
    default_model_for,
    get_provider,
)

logger = logging.getLogger(__name__)

ERROR_MESSAGES: dict[str, str] = {
    "invalid_api_key": (
        "The provider did not accept this API key. Copy the key again from your "
        "provider's dashboard and paste it here."
    ),
    "permission_denied": (
        "This API key is not allowed to use this model. In your provider's dashboard, "
        "give the key permission to generate text (or create a new key without "
        "restrictions) and try again."
    ),
    "insufficient_quota": (
        "The key is valid, but the account has no credit or quota left. Add credit or a "
        "payment method on your provider's billing page, then try again."
    ),
    "rate_limited": (
        "The provider is limiting requests for this key right now. Wait a minute and try "
        "again; if it keeps happening, check your plan's limits and billing in the "
        "provider's dashboard."
    ),
    "model_not_found": (
        "The provider does not offer this model to this key. Check the model name, or "
        "choose another model."
    ),
    "timeout": "The provider took too long to answer. Try again in a moment.",
    "unreachable": (
        "We could not connect to the provider. Check the server address if you entered "
        "one, and try again later."
    ),
    "blocked_address": (
        "This server address is not allowed. Use the public http:// or https:// address "
        "of your AI server, without a user name or password in it."
    ),
    "invalid_response": (
        "The server answered, but not the way an AI provider should. Check the server "
        "address and try again later."
    ),
    "provider_error": (
        "The provider could not handle the request. Check your account and billing in the "
        "provider's dashboard, or try again later."
    ),
}

KEY_TEST_PROMPT = "Reply with the single word OK."
KEY_TEST_MAX_TOKENS = 16
MAX_LISTED_MODELS = 500
MAX_REPLY_CHARS = 20_000
ANTHROPIC_VERSION = "2023-06-01"
# Don't start a model listing with less time than this left in the key test's budget.
_MIN_LISTING_SECONDS = 0.2


class ProviderError(Exception):
    """A provider call failed. `message` is for a church secretary and never holds the key."""

    def __init__(self, error_code: str, message: str | None = None, status: int | None = None):
        self.error_code = error_code
        self.message = message or ERROR_MESSAGES[error_code]
        self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ProviderError(error_code={self.error_code!r}, status={self.status!r})"


@dataclass
class Generation:
    text: str
    model: str
    input_tokens: int | None
    output_tokens: int | None


@dataclass
class KeyTestResult:
    success: bool
    provider: str
    model: str
    response: str | None
    models: list[str] = field(default_factory=list)
    latency_ms: int = 0
    error_code: str | None = None
    error: str | None = None
    # What the test's generation used, for the usage ledger (None when it failed).
    answered_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


# --- plumbing ---------------------------------------------------------------------------


def _checked_key(api_key: str | None, required: bool) -> str:
    key = api_key or ""
    if not key:
        if required:
            raise ProviderError("invalid_api_key", "Enter the API key from your provider.")
        return key
    # Printable ASCII only: anything else cannot go in a header, and the HTTP library's
    # error for it would quote the key.
    if not all("!" <= ch <= "~" for ch in key):
        raise ProviderError(
            "invalid_api_key",
            "The API key contains spaces or invisible characters. Copy the key again from "
            "your provider's dashboard and paste it here.",
        )
    return key


@dataclass(frozen=True)
class _Conn:
    spec: ProviderSpec
    base: str
    guarded: bool
    key: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.key:
            headers.update(self.spec.auth.headers_for(self.key))
        if self.spec.family == Family.ANTHROPIC:
            headers["anthropic-version"] = ANTHROPIC_VERSION
        return headers


def _connect(provider: str, api_key: str | None, base_url: str | None) -> _Conn:
    spec = get_provider(provider)
    key = _checked_key(api_key, required=spec.key_required)
    try:
        base, guarded = base_url_for(spec.id, base_url)
    except ValueError:
        base = None
    if base is None:
        raise ProviderError("blocked_address", "Enter the address (base URL) of your AI server.")
    return _Conn(spec, base, guarded, key)


def _request(
    conn: _Conn,
    method: str,
    path: str,
    *,
    deadline: float,
    phase: str,
    json: Any = None,
    params: dict | None = None,
) -> Any:
    """One call; the parsed JSON of a 2xx answer, else a classified ProviderError."""
    remaining = min(deadline - time.monotonic(), _timeout_setting())
    if remaining <= 0:
        raise ProviderError("timeout")
    try:
        response = send(
            method,
            conn.base + path,
            timeout=remaining,
            headers=conn.headers(),
            json=json,
            params=params,
            guard=conn.guarded,
        )
        data = response.json() if 200 <= response.status < 300 else None
    except OutboundError as exc:
        raise ProviderError(exc.code) from None
    if 200 <= response.status < 300:
        return data
    try:
        payload = response.json()
    except OutboundError:
        payload = None
    code = classify(conn.spec, response.status, payload, phase)
    raise ProviderError(code, status=response.status)


def _timeout_setting() -> float:
    return float(settings.AI_PROVIDER_TIMEOUT)


# Token counts are stored in PositiveIntegerField columns (0 to 2**31 - 1 on every database).
_MAX_TOKEN_COUNT = 2**31


def _int_or_none(value: Any) -> int | None:
    """A provider's token count, or None for anything that is not a plausible count (a
    negative number, one too large to store, a bool, a float, text)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_TOKEN_COUNT:
        return value
    return None


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# --- classification -----------------------------------------------------------------------


def _by_status(status: int, phase: str) -> str:
    if status == 401:
        return "invalid_api_key"
    if status == 402:
        return "insufficient_quota"
    if status == 403:
        return "permission_denied"
    if status == 404:
        # On a listing or key endpoint a 404 means a wrong base URL, not a wrong model.
        return "model_not_found" if phase == "generate" else "provider_error"
    if status == 429:
        return "rate_limited"
    if 300 <= status < 400:
        return "invalid_response"
    return "provider_error"


def _classify_openai(spec: ProviderSpec, status: int, payload: Any) -> str | None:
    body = _as_dict(payload)
    error = body.get("error")
    err = _as_dict(error)
    # Mistral puts `type` at the top level; the others inside `error`.
    markers = {
        v for v in (err.get("code"), err.get("type"), body.get("type")) if isinstance(v, str)
    }
    if "insufficient_quota" in markers:
        return "insufficient_quota"
    if "model_not_found" in markers or "invalid_model" in markers:
        return "model_not_found"
    if "rate_limit_exceeded" in markers or "rate_limited" in markers:
        return "rate_limited"
    if status == 401:
        null_code = isinstance(error, dict) and err.get("code") is None
        if null_code and spec.null_code_401_is_restricted_key:
            return "permission_denied"
        return "invalid_api_key"
    if "invalid_api_key" in markers:
        return "invalid_api_key"
    return None


def _classify_gemini(status: int, payload: Any) -> str | None:
    err = _as_dict(_as_dict(payload).get("error"))
    details = err.get("details") if isinstance(err.get("details"), list) else []
    reasons = {_as_dict(d).get("reason") for d in details}
    grpc_status = err.get("status")
    if "API_KEY_INVALID" in reasons or grpc_status == "UNAUTHENTICATED":
        return "invalid_api_key"
    if grpc_status == "PERMISSION_DENIED":
        return "permission_denied"
    if grpc_status == "RESOURCE_EXHAUSTED":
        return "rate_limited"  # quota and rate limit alike; see the module docstring
    if grpc_status == "INVALID_ARGUMENT":
        return "provider_error"
    return None


_ANTHROPIC_TYPES = {
    "authentication_error": "invalid_api_key",
    "permission_error": "permission_denied",
    "billing_error": "insufficient_quota",
    "rate_limit_error": "rate_limited",
    "overloaded_error": "provider_error",
    "api_error": "provider_error",
    "invalid_request_error": "provider_error",
}


def _classify_anthropic(status: int, payload: Any) -> str | None:
    error_type = _as_dict(_as_dict(payload).get("error")).get("type")
    if error_type == "not_found_error":
        return None  # the status fallback tells model from endpoint
    return _ANTHROPIC_TYPES.get(error_type) if isinstance(error_type, str) else None


def classify(spec: ProviderSpec, status: int, payload: Any, phase: str = "generate") -> str:
    """The error code for a non-2xx answer. `phase`: "generate", "list" or "key"."""
    if spec.family == Family.GEMINI:
        code = _classify_gemini(status, payload)
    elif spec.family == Family.ANTHROPIC:
        code = _classify_anthropic(status, payload)
    else:
        code = _classify_openai(spec, status, payload)
    if code == "model_not_found" and phase != "generate":
        code = "provider_error"
    return code or _by_status(status, phase)


# --- OpenAI-compatible --------------------------------------------------------------------


def _openai_generate(conn, model, prompt, system, max_tokens, deadline) -> Generation:
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    body = {"model": model, "messages": messages, conn.spec.max_tokens_field: max_tokens}
    data = _request(
        conn, "POST", "/chat/completions", json=body, deadline=deadline, phase="generate"
    )
    choices = _as_dict(data).get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = _as_dict(first).get("message")
    if not isinstance(message, dict):
        raise ProviderError("invalid_response")
    content = message.get("content")
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(str(_as_dict(p).get("text") or "") for p in content)
    if content is not None and not isinstance(content, str):
        raise ProviderError("invalid_response")
    usage = _as_dict(data.get("usage"))
    answered_model = data.get("model")
    return Generation(
        # Reasoning models may spend a small budget on hidden reasoning: empty text.
        text=content or "",
        model=answered_model if isinstance(answered_model, str) and answered_model else model,
        input_tokens=_int_or_none(usage.get("prompt_tokens")),
        output_tokens=_int_or_none(usage.get("completion_tokens")),
    )


def _openai_models(conn, deadline) -> list[str]:
    data = _request(conn, "GET", "/models", deadline=deadline, phase="list")
    items = _as_dict(data).get("data")
    if not isinstance(items, list):
        raise ProviderError("invalid_response")
    return [item["id"] for item in items if isinstance(_as_dict(item).get("id"), str)]


def _openrouter_check_key(conn, deadline) -> None:
    data = _request(conn, "GET", "/key", deadline=deadline, phase="key")
    if not isinstance(_as_dict(data).get("data"), dict):
        raise ProviderError("invalid_response")


# --- Gemini ------------------------------------------------------------------------------


def _gemini_generate(conn, model, prompt, system, max_tokens, deadline) -> Generation:
    model_id = model.removeprefix("models/")
    body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "generationConfig": {"maxOutputTokens": max_tokens},
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    # The model is user input: quoted whole, so "/", "?" or "../" stay inside one segment.
    path = f"/models/{quote(model_id, safe='')}:generateContent"
    data = _request(conn, "POST", path, json=body, deadline=deadline, phase="generate")
    data = _as_dict(data)
    candidates = data.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        if "promptFeedback" in data:  # the prompt itself was blocked
            raise ProviderError("provider_error")
        raise ProviderError("invalid_response")
    if not isinstance(candidates[0], dict):
        raise ProviderError("invalid_response")
    # A candidate without parts (e.g. MAX_TOKENS spent on thinking) is an empty answer.
    parts = _as_dict(candidates[0].get("content")).get("parts")
    texts = [
        p["text"]
        for p in (parts if isinstance(parts, list) else [])
        if isinstance(_as_dict(p).get("text"), str) and not p.get("thought")
    ]
    usage = _as_dict(data.get("usageMetadata"))
    version = data.get("modelVersion")
    return Generation(
        text="".join(texts),
        model=version if isinstance(version, str) and version else model_id,
        input_tokens=_int_or_none(usage.get("promptTokenCount")),
        output_tokens=_int_or_none(usage.get("candidatesTokenCount")),
    )


def _gemini_models(conn, deadline) -> list[str]:
    data = _request(
        conn, "GET", "/models", params={"pageSize": 1000}, deadline=deadline, phase="list"
    )
    items = _as_dict(data).get("models")
    if not isinstance(items, list):
        raise ProviderError("invalid_response")
    names = []
    for item in items:
        item = _as_dict(item)
        methods = item.get("supportedGenerationMethods")
        if isinstance(item.get("name"), str) and isinstance(methods, list):
            if "generateContent" in methods:
                names.append(item["name"].removeprefix("models/"))
    return names


# --- Anthropic ---------------------------------------------------------------------------


def _anthropic_generate(conn, model, prompt, system, max_tokens, deadline) -> Generation:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        body["system"] = system
    data = _as_dict(
        _request(conn, "POST", "/v1/messages", json=body, deadline=deadline, phase="generate")
    )
    content = data.get("content")
    if not isinstance(content, list):
        raise ProviderError("invalid_response")
    texts = [
        b["text"]
        for b in content
        if _as_dict(b).get("type") == "text" and isinstance(b.get("text"), str)
    ]
    usage = _as_dict(data.get("usage"))
    answered_model = data.get("model")
    return Generation(
        text="".join(texts),
        model=answered_model if isinstance(answered_model, str) and answered_model else model,
        input_tokens=_int_or_none(usage.get("input_tokens")),
        output_tokens=_int_or_none(usage.get("output_tokens")),
    )


def _anthropic_models(conn, deadline) -> list[str]:
    data = _request(
        conn, "GET", "/v1/models", params={"limit": 1000}, deadline=deadline, phase="list"
    )
    items = _as_dict(data).get("data")
    if not isinstance(items, list):
        raise ProviderError("invalid_response")
    return [item["id"] for item in items if isinstance(_as_dict(item).get("id"), str)]


_FAMILIES = {
    Family.OPENAI: (_openai_generate, _openai_models),
    Family.GEMINI: (_gemini_generate, _gemini_models),
    Family.ANTHROPIC: (_anthropic_generate, _anthropic_models),
}


# --- public API -------------------------------------------------------------------------


def generate(
    *,
    provider: str,
    api_key: str,
    model: str | None,
    base_url: str | None,
    prompt: str,
    system: str | None = None,
    max_tokens: int = 512,
) -> Generation:
    """Generate text. Raises ProviderError; KeyError for an unknown provider id. The text
    may be empty (e.g. a reasoning model that used its whole budget)."""
    conn = _connect(provider, api_key, base_url)
    model = model or default_model_for(provider)
    generate_with, _ = _FAMILIES[conn.spec.family]
    deadline = time.monotonic() + _timeout_setting()
    return _cleaned(generate_with(conn, model, prompt, system, max_tokens, deadline), model)


def _cleaned(generation: Generation, model: str) -> Generation:
    """A provider's answer as we store and show it: no unpaired surrogates or control
    characters; the model it names only when it is a model id at all."""
    generation.text = clean_provider_text(generation.text, limit=MAX_REPLY_CHARS)
    named = clean_model_ids([generation.model])
    generation.model = named[0] if named else model
    return generation


def test_key(
    *,
    provider: str,
    api_key: str,
    model: str | None = None,
    base_url: str | None = None,
    list_models: bool = True,
) -> KeyTestResult:
    """Prove the key can generate with the model (a few tokens), and list the models where
    the provider can (unless `list_models` is false: the health check needs only the proof;
    a public model list accepts revoked keys). The whole test stays within
    AI_PROVIDER_TIMEOUT. Never raises for a
    provider problem (KeyError for an unknown provider id). `latency_ms` is the whole test."""
    started = time.monotonic()
    deadline = started + _timeout_setting()
    model = model or default_model_for(provider)
    models: list[str] = []
    try:
        conn = _connect(provider, api_key, base_url)
        generate_with, models_of = _FAMILIES[conn.spec.family]
        if conn.spec.key_check == KeyCheck.OPENROUTER_KEY_THEN_GENERATE:
            _openrouter_check_key(conn, deadline)
        generation = _cleaned(
            generate_with(conn, model, KEY_TEST_PROMPT, None, KEY_TEST_MAX_TOKENS, deadline),
            model,
        )
    except ProviderError as exc:
        latency_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "AI key test failed: provider=%s code=%s status=%s (%d ms)",
            provider,
            exc.error_code,
            exc.status,
            latency_ms,
        )
        return KeyTestResult(
            success=False,
            provider=provider,
            model=model,
            response=None,
            models=[],
            latency_ms=latency_ms,
            error_code=exc.error_code,
            error=exc.message,
        )
    if list_models and deadline - time.monotonic() > _MIN_LISTING_SECONDS:
        try:
            models = sorted(set(clean_model_ids(models_of(conn, deadline))))
            models = models[:MAX_LISTED_MODELS]
        except ProviderError as exc:  # the key works; the list is a convenience
            logger.info("AI model listing failed: provider=%s code=%s", provider, exc.error_code)
    latency_ms = int((time.monotonic() - started) * 1000)
    logger.info("AI key test passed: provider=%s (%d ms)", provider, latency_ms)
    return KeyTestResult(
        success=True,
        provider=provider,
        model=model,
        response=generation.text,
        models=models,
        latency_ms=latency_ms,
        error_code=None,
        error=None,
        answered_model=generation.model,
        input_tokens=generation.input_tokens,
        output_tokens=generation.output_tokens,
    )


# pytest collects any `test_*` function imported into a test module; this is not a test.
test_key.__test__ = False
