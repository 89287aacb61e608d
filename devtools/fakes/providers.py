"""A local HTTP server on 127.0.0.1 that speaks each AI provider's wire protocol, with the
error shapes from docs/provider facts (/work/shared/reference/provider-protocols.md).

    with FakeProviders() as fake:
        settings.OPENAI_BASE_URL = fake.base_urls()["OPENAI_BASE_URL"]
        fake.set_scenario("openai", "no_credit")
        ...
        fake.requests  # every request received: method, path, query, headers, json

Scenarios (per provider, default "ok"):
  ok, no_credit (listing works, generation fails the provider's no-credit way),
  billing_error (Anthropic's 402), restricted, rate_limited, server_error, garbage (200,
  not JSON), wrong_shape (200 JSON without the expected fields), empty (200, empty text,
  as a reasoning model that spent its budget), hang (no answer until stop()),
  hang_listing (only model listing hangs), drip (headers, then a byte per drip_interval),
  drip_headers (the status line itself dripped), redirect (302 to /redirected here).

`fake.key_scenarios` (key -> scenario) makes a key valid with a scenario of its own, whatever
its provider's scenario: `fake.add_key(key)` accepts a second key (e.g. a backup key) and
`fake.set_key_scenario(key, "rate_limited")` makes one key rate limited (server_error, hang for
a slow key, …) while the provider's other keys keep theirs.

`fake.revoke_key(key)` makes the provider refuse a key it accepted (as after the church
revoked it in the provider's dashboard): every call with it answers the provider's invalid-key
error, model listings included except where the listing is public (OpenRouter).

`fake.usage_override` (a dict, e.g. {"prompt_tokens": -1}) is merged into the usage object
of every successful generation, in the provider's own field names.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

VALID_KEYS = {
    "openai": "sk-proj-REALLOOKINGopenai1234567890abcdWXYZ",
    "gemini": "AIzaSyD-REALLOOKINGgemini0123456789_GmQ",
    "deepseek": "sk-5f3c9a1e7b2d4c6a8e0f1b3d5c7a9DpSk",
    "groq": "gsk_REALLOOKINGgroq0123456789abcdefGHIJKLMNOPQRgRqQ",
    "anthropic": "sk-ant-api03-REALLOOKINGanthropic0123456789abcdef-ghijklmnoAnTh",
    "mistral": "REALLOOKINGmistral0123456789abMsTr",
    "openrouter": "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123OpRt",
    "custom": "local-server-key-0123456789CuSt",
}

# A second working key per provider: the one a church creates after revoking the first.
NEW_KEYS = {provider: key[:-6] + "NEWKEY" for provider, key in VALID_KEYS.items()}

KNOWN_MODELS = {
    "openai": ["gpt-5.5", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-4o-mini", "gpt-4.1-mini"],
    "gemini": ["gemini-2.5-flash", "gemini-flash-latest", "gemini-3.8-flash"],
    "deepseek": ["deepseek-v4-flash", "deepseek-v4-pro"],
    "groq": ["openai/gpt-oss-20b", "llama-3.3-70b-versatile", "llama-3.1-8b-instant"],
    "anthropic": ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-7"],
    "mistral": ["mistral-small-latest", "mistral-medium-latest", "mistral-large-latest"],
    "openrouter": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"],
    "custom": ["llama3.2", "qwen2.5:7b"],
}
# Gemini also lists models that cannot generate text; the client must leave them out.
GEMINI_EMBEDDING_MODEL = "text-embedding-004"

MOUNTS = {  # path prefix -> (provider, base URL setting)
    "/openai/v1": ("openai", "OPENAI_BASE_URL"),
    "/gemini/v1beta": ("gemini", "GEMINI_BASE_URL"),
    "/deepseek": ("deepseek", "DEEPSEEK_BASE_URL"),
    "/groq/openai/v1": ("groq", "GROQ_BASE_URL"),
    "/anthropic": ("anthropic", "ANTHROPIC_BASE_URL"),
    "/mistral/v1": ("mistral", "MISTRAL_BASE_URL"),
    "/openrouter/api/v1": ("openrouter", "OPENROUTER_BASE_URL"),
    "/custom/v1": ("custom", None),
}
REPLY_TEXT = "OK"
SCENARIOS = (
    "ok",
    "no_credit",
    "billing_error",
    "restricted",
    "rate_limited",
    "server_error",
    "garbage",
    "wrong_shape",
    "empty",
    "hang",
    "hang_listing",
    "drip",
    "drip_headers",
    "redirect",
)
# Scenarios that break every endpoint (infrastructure), before any auth check.
_BROKEN = {"server_error", "garbage", "hang", "drip", "drip_headers", "redirect"}


@dataclass
class RecordedRequest:
    provider: str | None
    method: str
    path: str  # raw path as sent, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    json: Any
    body: bytes = field(repr=False, default=b"")


class _Answer(Exception):
    """Raised by the route code to send an error answer."""

    def __init__(self, status: int, body: Any, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _openai_error(message, type_, code, param=None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _gemini_error(code, status, message, details=None):
    error = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _anthropic_error(type_, message):
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}


_GEMINI_QUOTA_DETAILS = [
    {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
            {
                "quotaMetric": (
                    "generativelanguage.googleapis.com/generate_content_free_tier_requests"
                ),
                "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                "quotaValue": "250",
            }
        ],
    },
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
]


def _invalid_key(provider: str, key: str) -> _Answer:
    tail = key[-4:] if len(key) >= 4 else ""
    if provider == "openai":
        return _Answer(
            401,
            _openai_error(
                f"Incorrect API key provided: sk-proj-****{tail}. You can find your API key "
                "at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
    if provider == "gemini":
        return _Answer(
            400,
            _gemini_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": "API key not valid. Please pass a valid API key.",
                    },
                ],
            ),
        )
    if provider == "deepseek":
        return _Answer(
            401,
            _openai_error(
                f"Authentication Fails, Your api key: ****{tail} is invalid",
                "authentication_error",
                "invalid_request_error",
            ),
        )
    if provider == "groq":
        return _Answer(
            401,
            {
                "error": {
                    "message": "Invalid API Key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )
    if provider == "anthropic":
        return _Answer(401, _anthropic_error("authentication_error", "invalid x-api-key"))
    if provider == "mistral":
        return _Answer(401, {"detail": "Unauthorized"})
    if provider == "openrouter":
        if not key:
            return _Answer(401, {"error": {"message": "No auth credentials found", "code": 401}})
        return _Answer(401, {"error": {"message": "User not found.", "code": 401}})
    return _Answer(401, {"error": "Unauthorized"})  # vLLM started with --api-key


def _model_not_found(provider: str, model: str) -> _Answer:
    if provider in ("openai", "groq"):
        return _Answer(
            404,
            _openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            ),
        )
    if provider == "gemini":
        return _Answer(
            404,
            _gemini_error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported "
                "for generateContent. Call ListModels to see the list of available models.",
            ),
        )
    if provider == "deepseek":  # no stable field tells this apart
        return _Answer(
            400, _openai_error("Model Not Exist", "invalid_request_error", "invalid_request_error")
        )
    if provider == "anthropic":
        return _Answer(404, _anthropic_error("not_found_error", f"model: {model}"))
    if provider == "mistral":
        return _Answer(
            400,
            {
                "object": "error",
                "message": f"Invalid model: {model}",
                "type": "invalid_model",
                "param": None,
                "code": "1500",
            },
        )
    if provider == "openrouter":
        return _Answer(404, {"error": {"message": f"No endpoints found for {model}.", "code": 404}})
    return _Answer(  # Ollama
        404,
        {
            "error": {
                "message": f'model "{model}" not found, try pulling it first',
                "type": "api_error",
                "param": None,
                "code": None,
            }
        },
    )


def _no_credit(provider: str, scenario: str) -> _Answer:
    if provider == "openai":
        return _Answer(
            429,
            _openai_error(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            ),
        )
    if provider == "gemini":
        return _Answer(
            429,
            _gemini_error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                _GEMINI_QUOTA_DETAILS,
            ),
            {"retry-after": "37"},
        )
    if provider == "deepseek":
        return _Answer(
            402, _openai_error("Insufficient Balance", "unknown_error", "invalid_request_error")
        )
    if provider == "groq":  # free-tier limits show up as rate limits
        return _rate_limited("groq")
    if provider == "anthropic":
        if scenario == "billing_error":
            return _Answer(402, _anthropic_error("billing_error", "Billing issue on the account."))
        return _Answer(
            400,
            _anthropic_error(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to "
                "Plans & Billing to upgrade or purchase credits.",
            ),
        )
    if provider == "openrouter":
        return _Answer(
            402,
            {
                "error": {
                    "message": "Insufficient credits. Add more using https://openrouter.ai/credits",
                    "code": 402,
                }
            },
        )
    # Mistral / custom: no documented shape; a plain 402 exercises the status fallback.
    return _Answer(402, {"object": "error", "message": "Payment required", "type": "billing"})


def _rate_limited(provider: str) -> _Answer:
    retry = {"retry-after": "20"}
    if provider in ("openai", "groq", "deepseek"):
        return _Answer(
            429,
            _openai_error(
                "Rate limit reached for requests. Please try again in 20s.",
                "requests",
                "rate_limit_exceeded",
            ),
            retry,
        )
    if provider == "gemini":
        return _Answer(
            429,
            _gemini_error(
                429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.", _GEMINI_QUOTA_DETAILS
            ),
            retry,
        )
    if provider == "anthropic":
        return _Answer(
            429,
            _anthropic_error(
                "rate_limit_error", "Number of requests has exceeded your rate limit."
            ),
            retry,
        )
    if provider == "mistral":
        return _Answer(
            429,
            {
                "object": "error",
                "message": "Rate limit exceeded",
                "type": "rate_limited",
                "param": None,
                "code": "1300",
            },
            retry,
        )
    if provider == "openrouter":
        return _Answer(429, {"error": {"message": "Rate limit exceeded", "code": 429}}, retry)
    return _Answer(429, {"error": {"message": "Too many requests"}}, retry)


def _restricted(provider: str) -> _Answer:
    if provider == "openai":
        return _Answer(
            401,
            _openai_error(
                "You have insufficient permissions for this operation. Missing scopes: "
                "model.request.",
                "invalid_request_error",
                None,
            ),
        )
    if provider == "gemini":
        return _Answer(
            403,
            _gemini_error(
                403,
                "PERMISSION_DENIED",
                "Generative Language API has not been used in project 1234 before or it is "
                "disabled.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                    }
                ],
            ),
        )
    if provider == "anthropic":
        return _Answer(
            403, _anthropic_error("permission_error", "Your API key does not have permission.")
        )
    return _Answer(403, {"error": {"message": "Forbidden", "type": "permission_error"}})


def _server_error(provider: str) -> _Answer:
    if provider == "gemini":
        return _Answer(
            503, _gemini_error(503, "UNAVAILABLE", "The model is overloaded. Try again later.")
        )
    if provider == "anthropic":
        return _Answer(529, _anthropic_error("overloaded_error", "Overloaded"))
    return _Answer(
        500,
        _openai_error(
            "The server had an error while processing your request.", "server_error", None
        ),
    )


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeProvider/1.0"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    # --- plumbing ---

    @property
    def fake(self) -> FakeProviders:
        return self.server.fake

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        provider, rest = None, split.path
        for prefix, (name, _setting) in MOUNTS.items():
            if split.path == prefix or split.path.startswith(prefix + "/"):
                provider, rest = name, split.path[len(prefix) :]
                break
        self.fake._record(
            RecordedRequest(
                provider=provider,
                method=self.command,
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                json=body,
                body=raw,
            )
        )
        if provider is None:
            self._send(404, {"error": "no such path"})
            return
        try:
            self._route(provider, rest, body, parse_qs(split.query))
        except _Answer as answer:
            self._send(answer.status, answer.body, answer.headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _route(self, provider: str, rest: str, body: Any, query: dict) -> None:
        key = self._key(provider, query)
        # A key with a scenario of its own is a valid key of an account in that state.
        scenario = self.fake.key_scenarios.get(key) or self.fake.scenarios.get(provider, "ok")
        is_listing = self.command == "GET" and rest in ("/models", "/v1/models")
        if scenario in _BROKEN or (scenario == "hang_listing" and is_listing):
            self._break(provider, scenario)
            return
        if provider == "openrouter" and self.command == "GET" and rest == "/models":
            self._send(200, self._listing(provider))  # public: no key needed
            return
        accepted = (
            key in (VALID_KEYS[provider], NEW_KEYS[provider]) or key in self.fake.key_scenarios
        )
        if not accepted or key in self.fake.revoked_keys:
            raise _invalid_key(provider, key)
        if provider == "anthropic" and self.headers.get("anthropic-version") != "2023-06-01":
            raise _Answer(
                400,
                _anthropic_error("invalid_request_error", "anthropic-version header is required"),
            )
        if is_listing:
            self._send(200, self._listing(provider))
        elif provider == "openrouter" and self.command == "GET" and rest == "/key":
            remaining = 0 if scenario == "no_credit" else None
            self._send(
                200,
                {
                    "data": {
                        "label": "sk-or-v1-012...OpRt",
                        "limit": remaining,
                        "limit_remaining": remaining,
                        "usage": 0,
                        "is_free_tier": False,
                    }
                },
            )
        elif self.command == "POST" and self._is_generation(provider, rest):
            self._generate(provider, rest, body if isinstance(body, dict) else {}, scenario)
        else:
            raise _Answer(404, {"error": {"message": f"Unknown path {rest}"}})

    def _key(self, provider: str, query: dict) -> str:
        if provider == "gemini":
            return self.headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        if provider == "anthropic":
            return self.headers.get("x-api-key") or ""
        auth = self.headers.get("Authorization") or ""
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""

    @staticmethod
    def _is_generation(provider: str, rest: str) -> bool:
        if provider == "gemini":
            return rest.startswith("/models/") and rest.endswith(":generateContent")
        if provider == "anthropic":
            return rest == "/v1/messages"
        return rest == "/chat/completions"

    def _break(self, provider: str, scenario: str) -> None:
        release = self.fake._release
        if scenario in ("hang", "hang_listing"):
            if not release.wait(self.fake.hang_seconds):
                self._send(200, b"{}")
        elif scenario == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self._drip(b" " * 1000, release)
        elif scenario == "drip_headers":
            head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n" + b"X: y\r\n" * 200
            self._drip(head, release)
        elif scenario == "redirect":
            self._send(302, b"", {"Location": f"{self.fake.url}/redirected"})
        elif scenario == "garbage":
            raw = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        else:
            answer = _server_error(provider)
            self._send(answer.status, answer.body, answer.headers)

    def _drip(self, data: bytes, release: threading.Event) -> None:
        try:
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                if release.wait(self.fake.drip_interval):
                    return
        except OSError:
            pass

    def _listing(self, provider: str) -> dict:
        models = [*KNOWN_MODELS[provider], *self.fake.extra_models]
        if provider == "gemini":
            entries = [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for m in models
            ]
            entries.append(
                {
                    "name": f"models/{GEMINI_EMBEDDING_MODEL}",
                    "supportedGenerationMethods": ["embedContent"],
                }
            )
            return {"models": entries}
        if provider == "anthropic":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
                for m in models
            ]
            return {"data": data, "has_more": False, "first_id": models[0], "last_id": models[-1]}
        if provider == "custom":  # some servers omit created/owned_by
            return {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                for m in models
            ],
        }

    def _generate(self, provider: str, rest: str, body: dict, scenario: str) -> None:
        if provider == "gemini":
            model = unquote(rest[len("/models/") : -len(":generateContent")])
        else:
            model = body.get("model") or ""
        self._check_generation_request(provider, model, body)
        if self.fake.generation_delay:
            self.fake._release.wait(self.fake.generation_delay)
        if scenario in ("no_credit", "billing_error"):
            raise _no_credit(provider, scenario)
        if scenario == "restricted":
            raise _restricted(provider)
        if scenario == "rate_limited":
            raise _rate_limited(provider)
        text = "" if scenario == "empty" else (self.fake.reply_text or REPLY_TEXT)
        if provider == "gemini":
            reply = self._gemini_reply(model, text, scenario)
        elif provider == "anthropic":
            reply = self._anthropic_reply(model, text, scenario)
        else:
            reply = self._openai_reply(model, text, scenario)
        usage_key = "usageMetadata" if provider == "gemini" else "usage"
        if self.fake.usage_override and isinstance(reply.get(usage_key), dict):
            reply[usage_key].update(self.fake.usage_override)
        self._send(200, reply)

    @staticmethod
    def _check_generation_request(provider: str, model: str, body: dict) -> None:
        """What the real provider refuses before generating: an unknown model, a parameter
        the model does not take, a missing required one."""
        if model not in KNOWN_MODELS[provider]:
            raise _model_not_found(provider, model)
        if provider == "openai" and "max_tokens" in body and model.startswith("gpt-5"):
            raise _Answer(
                400,
                _openai_error(
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead.",
                    "invalid_request_error",
                    "unsupported_parameter",
                    "max_tokens",
                ),
            )
        if provider == "anthropic" and not isinstance(body.get("max_tokens"), int):
            raise _Answer(
                400, _anthropic_error("invalid_request_error", "max_tokens: Field required")
            )

    @staticmethod
    def _openai_reply(model, text, scenario):
        if scenario == "wrong_shape":
            return {"id": "chatcmpl-fake", "object": "chat.completion", "model": model}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "length" if not text else "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
        }

    @staticmethod
    def _gemini_reply(model, text, scenario):
        if scenario == "wrong_shape":
            return {"usageMetadata": {"promptTokenCount": 7}, "modelVersion": model}
        content = {"role": "model", "parts": [{"text": text}]} if text else {"role": "model"}
        return {
            "candidates": [
                {"content": content, "finishReason": "STOP" if text else "MAX_TOKENS", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": 7,
                "candidatesTokenCount": 1,
                "totalTokenCount": 8,
            },
            "modelVersion": model,
            "responseId": "fake",
        }

    @staticmethod
    def _anthropic_reply(model, text, scenario):
        if scenario == "wrong_shape":
            return {"id": "msg_fake", "type": "message", "model": model}
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": "end_turn" if text else "max_tokens",
            "usage": {"input_tokens": 12, "output_tokens": 1},
        }


class FakeProviders:
    """The fake providers' server. Start with start() or as a context manager."""

    def __init__(self):
        self.scenarios: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self.hang_seconds = 60.0
        self.drip_interval = 1.0
        self.generation_delay = 0.0  # seconds before answering a generation
        self.usage_override: dict[str, Any] = {}  # merged into a generation's usage
        self.extra_models: list[str] = []  # listed after the known ones (any junk a server sends)
        self.reply_text: str | None = None  # instead of REPLY_TEXT
        # key -> scenario: that key is accepted and answers with the scenario, whatever the
        # provider's own scenario (the demo hands out one key per failure to try).
        self.key_scenarios: dict[str, str] = {}
        self.revoked_keys: set[str] = set()
        self._lock = threading.Lock()
        # Set to release hanging/dripping handlers; replaced on reset().
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def base_urls(self) -> dict[str, str]:
        """Base URL setting name -> URL ("CUSTOM_BASE_URL" for the custom mount, which is
        not a Django setting: the custom provider takes its URL from the user)."""
        return {
            (setting or "CUSTOM_BASE_URL"): self.url + prefix
            for prefix, (_provider, setting) in MOUNTS.items()
        }

    def set_scenario(self, provider: str, scenario: str) -> None:
        if provider not in KNOWN_MODELS or scenario not in SCENARIOS:
            raise ValueError(f"unknown provider or scenario: {provider} {scenario}")
        self.scenarios[provider] = scenario

    def add_key(self, key: str) -> None:
        """Accept `key` as another valid key (e.g. a backup key), answering normally."""
        self.key_scenarios.setdefault(key, "ok")

    def set_key_scenario(self, key: str, scenario: str) -> None:
        """Requests made with `key` follow `scenario`, whatever the provider's scenario."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario: {scenario}")
        self.key_scenarios[key] = scenario

    def reset(self) -> None:
        self._release.set()
        self._release = threading.Event()
        self.scenarios.clear()
        with self._lock:
            self.requests.clear()
        self.hang_seconds = 60.0
        self.drip_interval = 1.0
        self.generation_delay = 0.0
        self.usage_override = {}
        self.extra_models = []
        self.reply_text = None
        self.key_scenarios = {}
        self.revoked_keys.clear()

    def revoke_key(self, key: str) -> None:
        """From now on the provider refuses `key` as invalid (revoked in its dashboard)."""
        self.revoked_keys.add(key)

    def restore_key(self, key: str) -> None:
        self.revoked_keys.discard(key)

    def requests_for(self, provider: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.provider == provider]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self, port: int = 0) -> FakeProviders:
        """Serve on 127.0.0.1:`port` (0: a free port)."""
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-providers", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # releases hanging and dripping handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
