"""A logging filter that keeps provider keys and tokens out of every log line.

The code never logs a key on purpose; this is the net under it. Attached to every handler in
settings.LOGGING, it rewrites each record before the handler formats it: the message (with its
arguments already merged in), the exception traceback, the stack and any string `extra` field.
Anything shaped like a provider key or token becomes `[REDACTED]`.

It rewrites the record in place (Python 3.11 filters cannot hand a handler a copy), so the
handlers that run after it see the redacted record too.
"""

import logging
import re

REDACTED = "[REDACTED]"

# Long enough to be a real credential, so that ordinary words and ids are left alone.
_PATTERNS = [
    # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-), OpenRouter (sk-or-v1-), DeepSeek.
    re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}"),
    # Google (Gemini) API keys.
    re.compile(r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{20,}"),
    # Groq.
    re.compile(r"(?<![A-Za-z0-9_-])gsk_[A-Za-z0-9_-]{16,}"),
    # Meta (WhatsApp Cloud API) access tokens.
    re.compile(r"(?<![A-Za-z0-9_-])EAA[A-Za-z0-9]{20,}"),
    # JSON Web Tokens (our own access and refresh tokens).
    re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
]
# Values of credential headers, fields and query parameters, whatever their shape. The name
# stays. `(?!\[REDACTED\])` and the possessive `?+` keep a second pass from changing anything.
_VALUE = r"(?!\[REDACTED\])[^\s'\",;}\]]+"
_NAMED_VALUES = [
    # "Authorization: Bearer x", "'Authorization': 'Basic x'", "authorization=x"
    re.compile(
        r"(?i)(\bauthorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token)\s+)?+" + _VALUE
    ),
    # "x-goog-api-key: x", "'x-api-key': 'x'", "api_key=x", "password: x", "app_secret=x"
    re.compile(
        r"(?i)(\b(?:x-goog-api-key|x-api-key|api-key|api_key|apikey|access_token|password"
        r"|app_secret|client_secret|secret)['\"]?\s*[:=]\s*['\"]?)" + _VALUE
    ),
    # Query strings: ?key=x, &token=x, hub.verify_token=x (the webhook's secret)
    re.compile(
        r"(?i)([?&](?:key|token|hub\.verify_token|verify_token)=)(?!\[REDACTED\])[^&\s'\"#]+"
    ),
    # One-time keys in our own paths: invitation links, allauth's password reset links
    # (/accounts/password/reset/key/<uidb36>-<key>/, the uid kept; ".../key/done/" has no key)
    # and email verification links, and Django's older reset links.
    re.compile(r"(/invitations/)(?!\[REDACTED\])[^/\s?#'\"]+"),
    re.compile(
        r"(/accounts/password/reset/key/(?:[0-9A-Za-z]+-)?+)"
        r"(?!\[REDACTED\]|done(?:[/\s?#'\"]|$))[^/\s?#'\"]+"
    ),
    re.compile(r"(/accounts/confirm-email/)(?!\[REDACTED\])[^/\s?#'\"]+"),
    re.compile(r"(/accounts/reset/)(?!\[REDACTED\])[^/\s?#'\"]+/[^/\s?#'\"]+"),
    # A bearer token anywhere else in the text.
    re.compile(r"(?i)(\bbearer\s+)(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*"),
]

# LogRecord attributes that are never user data (and that handlers rely on as they are).
_RECORD_FIELDS_LEFT_ALONE = frozenset(
    {
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "taskName",
    }
)

_traceback_formatter = logging.Formatter()


def redact(text: str) -> str:
    """`text` with everything shaped like a key, token or credential header value replaced."""
    if not text:
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    for pattern in _NAMED_VALUES:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites the record so that no handler can write a key or token. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info:
            # Format the traceback now and drop exc_info, so that no formatter can render the
            # exception (whose message or locals may hold a key) without going through here.
            if not record.exc_text:
                record.exc_text = _traceback_formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if isinstance(value, str) and name not in _RECORD_FIELDS_LEFT_ALONE:
                setattr(record, name, redact(value))
        return True
