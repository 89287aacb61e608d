"""Client for Meta's WhatsApp Cloud API (the Graph API): verify a church's credentials, send text.

Errors are classified on Graph's stable JSON fields (`error.code`, `error.error_subcode`), never on
message text, and not on the HTTP status when the code says otherwise (Graph answers a bad token
with 400 or 401 alike). The access token must never reach an error message, a log line or an
exception chain: lower exceptions are re-raised `from None`, and nothing Meta wrote is copied into
our messages.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from common import http

logger = logging.getLogger(__name__)

GRAPH_ERROR_CODES = (
    "invalid_token",
    "token_expired",
    "not_found",
    "phone_not_in_account",
    "permission_denied",
    "rate_limited",
    "timeout",
    "unreachable",
    "invalid_response",
    "provider_error",
    # send-specific:
    "recipient_not_allowed",
    "outside_window",
    "undeliverable",
    "invalid_recipient",
)

# Shown to a church secretary: what happened and what to do about it.
GRAPH_ERROR_MESSAGES: dict[str, str] = {
    "invalid_token": (
        "Meta rejected the access token. Copy the access token of your system user from Meta "
        "Business Settings again and paste it here."
    ),
    "token_expired": (
        "The access token has expired or was revoked (for example after a password change). "
        "Create a permanent access token for a system user in Meta Business Settings and paste "
        "it here."
    ),
    "not_found": (
        "Meta does not know this phone number ID or WhatsApp Business Account ID, or the access "
        "token cannot see it. Copy both IDs from the WhatsApp > API Setup page of your Meta app."
    ),
    "phone_not_in_account": (
        "This phone number does not belong to that WhatsApp Business Account. Check that the "
        "phone number ID and the WhatsApp Business Account ID come from the same API Setup page."
    ),
    "permission_denied": (
        "The access token is not allowed to use this WhatsApp account. In Meta Business Settings, "
        "give the system user the whatsapp_business_messaging and whatsapp_business_management "
        "permissions and assign the WhatsApp account to it, then create a new token."
    ),
    "rate_limited": "Meta is limiting requests right now. Wait a few minutes and try again.",
    "timeout": "Meta did not answer in time. Try again in a few minutes.",
    "unreachable": "We could not reach Meta's servers. Try again in a few minutes.",
    "invalid_response": (
        "Meta sent an answer we could not understand. Try again in a few minutes; if it keeps "
        "happening, contact support."
    ),
    "provider_error": (
        "Meta reported an error on its side. Try again in a few minutes; if it keeps happening, "
        "contact support."
    ),
    "recipient_not_allowed": (
        "This test phone number can only send to numbers on its allowed list. Add the recipient "
        "in your Meta app under WhatsApp > API Setup, or connect a production phone number."
    ),
    "outside_window": (
        "More than 24 hours have passed since this person last wrote to you, so WhatsApp only "
        "allows an approved template message now."
    ),
    "undeliverable": (
        "WhatsApp could not deliver the message to this number. Check that the number is correct "
        "and has WhatsApp."
    ),
    "invalid_recipient": (
        "WhatsApp does not accept this recipient number. Check the number, including the country "
        "code."
    ),
}

# Graph error codes (see the module docstring). Subcode 463 is "session has expired"; 460 is
# "password changed", which invalidates the token just the same: both need a new token.
_INVALID_TOKEN_CODE = 190
_EXPIRED_TOKEN_SUBCODES = frozenset({460, 463})
_NOT_FOUND_CODE = 100  # with subcode 33 "object does not exist"; also "invalid parameter"
_PERMISSION_CODES = frozenset({10, *range(200, 300)})
# 4/17/32/613: Graph API call limits; 80007: WABA rate limit; 130429: Cloud API throughput;
# 131048: spam rate limit; 131056: too many messages to the same recipient.
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})
_SEND_ERROR_CODES = {
    131030: "recipient_not_allowed",
    131047: "outside_window",
    131026: "undeliverable",
    131021: "invalid_recipient",  # "recipient cannot be sender"
}
# common.http failures. `blocked_address` cannot happen with guard=False; map it anyway.
_OUTBOUND_ERROR_CODES = {
    "timeout": "timeout",
    "unreachable": "unreachable",
    "blocked_address": "unreachable",
    "invalid_response": "invalid_response",
}

# ids end up in the URL path: digits only, so no id can walk the path ("../", "?", "#").
# [0-9] rather than \d, which also matches non-ASCII digits.
_GRAPH_ID = re.compile(r"[0-9]{1,20}")
_RECIPIENT = re.compile(r"[0-9]{8,15}")
MAX_TEXT_LENGTH = 4096  # Cloud API limit for a text message body
# Longest values we accept from Meta, the sizes of the columns that store them
# (WhatsAppConfig.display_phone_number / verified_name, MessageRecord.message_id). Meta never
# sends longer ones: a display number is a formatted E.164 number, a verified name is a short
# business name, and a wamid is about 60 characters ("wamid.HBgL..."). A value that does not fit
# is garbage, reported as invalid_response rather than failing the save later.
MAX_DISPLAY_PHONE_NUMBER_LENGTH = 40
MAX_VERIFIED_NAME_LENGTH = 200
MAX_MESSAGE_ID_LENGTH = 200
# GREEN, YELLOW, RED, UNKNOWN, NA; optional, so a value that does not fit is left out.
MAX_QUALITY_RATING_LENGTH = 20
# A WABA has a handful of numbers; this bounds the requests made to look for one.
MAX_PHONE_NUMBER_PAGES = 5
PHONE_NUMBERS_PAGE_SIZE = 100


class GraphError(Exception):
    """A Graph API call failed. `message` is safe to show to users and to log."""

    def __init__(
        self,
        error_code: str,
        *,
        status: int | None = None,
        graph_code: int | None = None,
        graph_subcode: int | None = None,
        fbtrace_id: str | None = None,
        field: str | None = None,
    ):
        self.error_code = error_code
        self.message = GRAPH_ERROR_MESSAGES[error_code]
        self.status = status
        self.graph_code = graph_code
        self.graph_subcode = graph_subcode
        # Meta's request id, for support tickets.
        self.fbtrace_id = fbtrace_id
        # Which input the error is about ("phone_number_id" / "business_account_id"), if known.
        self.field = field
        super().__init__(self.message)

    def __repr__(self) -> str:
        return (
            f"GraphError(error_code={self.error_code!r}, status={self.status!r}, "
            f"graph_code={self.graph_code!r}, graph_subcode={self.graph_subcode!r})"
        )


@dataclass
class PhoneNumberInfo:
    display_phone_number: str
    verified_name: str
    quality_rating: str | None


def verify_credentials(
    *, phone_number_id: str, business_account_id: str, access_token: str
) -> PhoneNumberInfo:
    """Check with Meta that the token can read the number and that it belongs to the WABA."""
    _check_id(phone_number_id, "phone_number_id")
    _check_id(business_account_id, "business_account_id")
    _check_token(access_token)
    deadline = _deadline()

    number = _call(
        "GET",
        phone_number_id,
        token=access_token,
        deadline=deadline,
        params={"fields": "display_phone_number,verified_name,quality_rating"},
        field="phone_number_id",
    )
    info = PhoneNumberInfo(
        display_phone_number=_required_text(
            number, "display_phone_number", MAX_DISPLAY_PHONE_NUMBER_LENGTH
        ),
        verified_name=_required_text(number, "verified_name", MAX_VERIFIED_NAME_LENGTH),
        quality_rating=_optional_text(number, "quality_rating", MAX_QUALITY_RATING_LENGTH),
    )
    if not _account_has_number(business_account_id, phone_number_id, access_token, deadline):
        raise _fail("phone_not_in_account", field="business_account_id")
    return info


def send_text(*, phone_number_id: str, access_token: str, to: str, body: str) -> str:
    """Send a plain text message; return the `wamid` Meta assigned to it."""
    _check_id(phone_number_id, "phone_number_id")
    _check_token(access_token)
    if not isinstance(to, str) or not _RECIPIENT.fullmatch(to):
        raise ValueError("to must be 8 to 15 ASCII digits, without '+'")
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_TEXT_LENGTH:
        raise ValueError(f"body must be non-blank text of at most {MAX_TEXT_LENGTH} characters")

    answer = _call(
        "POST",
        f"{phone_number_id}/messages",
        token=access_token,
        deadline=_deadline(),
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": body},
        },
        field="phone_number_id",
    )
    # Nothing counts as sent unless Meta gave it a message id.
    messages = answer.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        raise _fail("invalid_response")
    # Meta's wamids are about 60 characters; one that does not fit the column is not Meta's.
    return _required_text(messages[0], "id", MAX_MESSAGE_ID_LENGTH)


def _account_has_number(
    business_account_id: str, phone_number_id: str, token: str, deadline: float
) -> bool:
    after: str | None = None
    for _ in range(MAX_PHONE_NUMBER_PAGES):
        params = {"fields": "id", "limit": str(PHONE_NUMBERS_PAGE_SIZE)}
        if after:
            params["after"] = after
        page = _call(
            "GET",
            f"{business_account_id}/phone_numbers",
            token=token,
            deadline=deadline,
            params=params,
            field="business_account_id",
        )
        data = page.get("data")
        if not isinstance(data, list):
            raise _fail("invalid_response")
        if any(isinstance(item, dict) and str(item.get("id")) == phone_number_id for item in data):
            return True
        # Never request a URL the remote gave us (`paging.next`); only use its presence as the
        # "more pages" signal, since Graph sends `cursors.after` on the last page too.
        paging = page.get("paging")
        paging = paging if isinstance(paging, dict) else {}
        cursors = paging.get("cursors")
        cursor = cursors.get("after") if isinstance(cursors, dict) else None
        if not data or not paging.get("next") or not isinstance(cursor, str) or not cursor:
            return False
        if cursor == after:  # a server repeating itself would otherwise loop to the bound
            return False
        after = cursor
    return False


def _call(
    method: str,
    path: str,
    *,
    token: str,
    deadline: float,
    field: str,
    params: dict | None = None,
    json: Any = None,
) -> dict:
    """One Graph request; return the JSON object of a 2xx answer or raise GraphError."""
    # One deadline for the whole operation, so verify's several requests share the bound.
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _fail("timeout")
    base_url = settings.WHATSAPP_GRAPH_BASE_URL.rstrip("/")
    try:
        response = http.send(
            method,
            f"{base_url}/{path}",
            timeout=remaining,
            headers={"Authorization": f"Bearer {token}"},
            params=params,
            json=json,
        )
    except http.OutboundError as exc:
        # from None: keep the lower exception (and whatever it holds) out of the chain.
        raise _fail(_OUTBOUND_ERROR_CODES.get(exc.code, "unreachable")) from None

    if not 200 <= response.status < 300:
        raise _error_from_response(response, field)
    try:
        payload = response.json()
    except http.OutboundError:
        raise _fail("invalid_response", status=response.status) from None
    if not isinstance(payload, dict):
        raise _fail("invalid_response", status=response.status)
    return payload


def _error_from_response(response: http.OutboundResponse, field: str) -> GraphError:
    code = subcode = fbtrace_id = None
    try:
        payload = response.json()
    except http.OutboundError:
        payload = None  # e.g. an HTML page from a proxy in front of Graph
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = _as_int(error.get("code"))
        subcode = _as_int(error.get("error_subcode"))
        trace = error.get("fbtrace_id")
        fbtrace_id = trace if isinstance(trace, str) else None
    error_code = _classify(code, subcode)
    return _fail(
        error_code,
        status=response.status,
        graph_code=code,
        graph_subcode=subcode,
        fbtrace_id=fbtrace_id,
        field=field if error_code == "not_found" else None,
    )


def _classify(code: int | None, subcode: int | None) -> str:
    if code == _INVALID_TOKEN_CODE:
        return "token_expired" if subcode in _EXPIRED_TOKEN_SUBCODES else "invalid_token"
    if code == _NOT_FOUND_CODE:
        return "not_found"
    if code in _PERMISSION_CODES:
        return "permission_denied"
    if code in _RATE_LIMIT_CODES:
        return "rate_limited"
    if code in _SEND_ERROR_CODES:
        return _SEND_ERROR_CODES[code]
    # Unknown code, or no Graph error body at all (4xx and 5xx alike).
    return "provider_error"


def _fail(error_code: str, **details: Any) -> GraphError:
    error = GraphError(error_code, **details)
    # Only our own fields: Meta's message text could echo user data back.
    logger.info(
        "WhatsApp Graph call failed: %s (status=%s graph_code=%s subcode=%s fbtrace_id=%s)",
        error.error_code,
        error.status,
        error.graph_code,
        error.graph_subcode,
        error.fbtrace_id,
    )
    return error


def _deadline() -> float:
    return time.monotonic() + float(settings.AI_PROVIDER_TIMEOUT)


def _check_id(value: str, name: str) -> None:
    if not isinstance(value, str) or not _GRAPH_ID.fullmatch(value):
        raise ValueError(f"{name} must be 1 to 20 ASCII digits")


def _check_token(token: str) -> None:
    # Never echo the token, not even in a programming error.
    if not isinstance(token, str) or not token:
        raise ValueError("access_token must be a non-empty string")
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ValueError("access_token must not contain spaces or control characters")
    # Meta's tokens are ASCII; any other token is wrong, and a header could not carry it. The
    # form validators let such text through, so this is the user's mistake, not a programming one.
    if not token.isascii():
        raise _fail("invalid_token")


def _required_text(payload: dict, key: str, max_length: int) -> str:
    value = payload.get(key)
    # NUL never belongs in these values, and PostgreSQL cannot store it.
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise _fail("invalid_response")
    return value


def _optional_text(payload: dict, key: str, max_length: int) -> str | None:
    value = payload.get(key)
    if not isinstance(value, str) or "\x00" in value or len(value) > max_length:
        return None
    return value or None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
