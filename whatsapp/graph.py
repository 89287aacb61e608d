"""Client for Meta's WhatsApp Cloud API (the Graph API): verify a church's credentials, send text
and template messages, list and submit message templates.

Errors are classified on Graph's stable JSON fields (`error.code`, `error.error_subcode`), never on
message text, and not on the HTTP status when the code says otherwise (Graph answers a bad token
with 400 or 401 alike). The access token must never reach an error message, a log line or an
exception chain: lower exceptions are re-raised `from None`, and nothing Meta wrote is copied into
our messages.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
    # the classified send errors of META_ERRORS (below):
    "engagement_limited",
    "marketing_opted_out",
    "pair_rate_limited",
    "throughput_limited",
    "spam_limited",
    "misclassification_limited",
    "payment_problem",
    "account_locked",
    "account_blocked",
    "template_parameter_count",
    "template_not_found",
    "template_text_too_long",
    "template_policy_violation",
    "template_parameter_format",
    "template_paused",
    "template_disabled",
    # submitting a template:
    "template_exists",
    "template_being_deleted",
    "template_variable_at_edge",
    "template_too_many_variables",
    "template_invalid",
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
    "engagement_limited": (
        "WhatsApp held this marketing message back to keep this person's inbox healthy (they "
        "already received several marketing messages). Wait at least a day before trying again."
    ),
    "marketing_opted_out": (
        "This person asked WhatsApp to stop marketing messages from you. They were marked as "
        "opted out of marketing; only utility messages about their own requests can reach them."
    ),
    "pair_rate_limited": (
        "Too many messages to this person in a short time. Wait a little before sending them "
        "another one."
    ),
    "throughput_limited": (
        "Your number is sending faster than WhatsApp allows right now. Wait a moment and try "
        "again; broadcasts slow down by themselves."
    ),
    "spam_limited": (
        "WhatsApp is limiting your number because people blocked or reported its messages. "
        "Broadcasts are paused: check your number's quality in Meta and send only to people who "
        "asked to hear from you."
    ),
    "misclassification_limited": (
        "WhatsApp limited your number because a template's category did not match its content. "
        "Stop sending and review your templates' categories."
    ),
    "payment_problem": (
        "Meta has a problem with the payment method of your WhatsApp account. An owner needs to "
        "fix billing in Meta Business Settings before messages can be sent."
    ),
    "account_locked": (
        "Your WhatsApp account is locked by Meta. An owner needs to check Meta Business Settings "
        "for the reason and request a review."
    ),
    "account_blocked": (
        "Meta has temporarily blocked your WhatsApp account for a policy violation. Sending is "
        "paused; an owner should check Meta Business Settings."
    ),
    "template_parameter_count": (
        "The number of values does not match the template's variables. Fill in every variable "
        "exactly once."
    ),
    "template_not_found": (
        "WhatsApp does not have this template in this language, or it is not approved yet. Sync "
        "your templates and choose an approved one."
    ),
    "template_text_too_long": (
        "The message is too long once the values are filled in. Use shorter values."
    ),
    "template_policy_violation": (
        "WhatsApp refused the message's content under its policies. Change the values or the "
        "template."
    ),
    "template_parameter_format": (
        "The values do not fit the template's variables (named versus numbered, or an empty "
        "value). Sync your templates and fill in every variable."
    ),
    "template_paused": (
        "WhatsApp paused this template because people reacted badly to it. Choose another "
        "template for now."
    ),
    "template_disabled": (
        "WhatsApp disabled this template for low quality. Choose or submit another template."
    ),
    "template_exists": (
        "A template with this name already exists in this language. Choose another name, or "
        "another language."
    ),
    "template_being_deleted": (
        "A template with this name and language is still being deleted at Meta. Use another name; "
        "the old one can be reused about four weeks after deletion."
    ),
    "template_variable_at_edge": (
        "The text may not start or end with a variable. Add some words before the first variable "
        "and after the last one."
    ),
    "template_too_many_variables": (
        "The text has too many variables for its length. Write more fixed words around them, or "
        "use fewer variables."
    ),
    "template_invalid": (
        "Meta did not accept the template as written. Read Meta's reason below, correct the "
        "template and submit it again."
    ),
}

# Who a send error concerns, so a broadcast knows whether to mark one recipient and go on,
# back off, stop because the template itself is wrong, or pause because the number is at risk.
SCOPE_RECIPIENT = "recipient"
SCOPE_RATE_LIMIT = "rate_limit"
SCOPE_TEMPLATE = "template"
SCOPE_ACCOUNT = "account"


@dataclass(frozen=True)
class MetaError:
    """What one of Meta's send error codes means for us (see META_ERRORS)."""

    error_code: str  # our code; its message is GRAPH_ERROR_MESSAGES[error_code]
    scope: str  # SCOPE_RECIPIENT | SCOPE_RATE_LIMIT | SCOPE_TEMPLATE | SCOPE_ACCOUNT

    @property
    def message(self) -> str:
        return GRAPH_ERROR_MESSAGES[self.error_code]


# Meta's message-send error codes (answered on the send call or later in a failed status from
# the webhook): the one table the composer, the history and broadcasts share.
META_ERRORS: dict[int, MetaError] = {
    131047: MetaError("outside_window", SCOPE_RECIPIENT),
    131026: MetaError("undeliverable", SCOPE_RECIPIENT),
    131021: MetaError("invalid_recipient", SCOPE_RECIPIENT),
    131030: MetaError("recipient_not_allowed", SCOPE_RECIPIENT),
    131049: MetaError("engagement_limited", SCOPE_RECIPIENT),
    131050: MetaError("marketing_opted_out", SCOPE_RECIPIENT),
    131056: MetaError("pair_rate_limited", SCOPE_RATE_LIMIT),
    130429: MetaError("throughput_limited", SCOPE_RATE_LIMIT),
    131048: MetaError("spam_limited", SCOPE_ACCOUNT),
    131064: MetaError("misclassification_limited", SCOPE_ACCOUNT),
    131042: MetaError("payment_problem", SCOPE_ACCOUNT),
    131031: MetaError("account_locked", SCOPE_ACCOUNT),
    368: MetaError("account_blocked", SCOPE_ACCOUNT),
    132000: MetaError("template_parameter_count", SCOPE_TEMPLATE),
    132001: MetaError("template_not_found", SCOPE_TEMPLATE),
    132005: MetaError("template_text_too_long", SCOPE_TEMPLATE),
    132007: MetaError("template_policy_violation", SCOPE_TEMPLATE),
    132012: MetaError("template_parameter_format", SCOPE_TEMPLATE),
    132015: MetaError("template_paused", SCOPE_TEMPLATE),
    132016: MetaError("template_disabled", SCOPE_TEMPLATE),
}
# Our codes that are not in META_ERRORS but still say who is concerned.
_SCOPE_OF_CODE = {
    "invalid_token": SCOPE_ACCOUNT,
    "token_expired": SCOPE_ACCOUNT,
    "permission_denied": SCOPE_ACCOUNT,
    "rate_limited": SCOPE_RATE_LIMIT,
}
# Meta's subcodes (with code 100) when a template submission is refused.
_TEMPLATE_CREATE_SUBCODES = {
    2388023: "template_being_deleted",
    2388024: "template_exists",
    2388293: "template_too_many_variables",
    2388299: "template_variable_at_edge",
}


def meta_error_for(graph_code: int | None) -> MetaError | None:
    """The classification of one of Meta's send error codes, or None if we do not know it."""
    return META_ERRORS.get(graph_code) if graph_code is not None else None


# Graph error codes (see the module docstring). Subcode 463 is "session has expired"; 460 is
# "password changed", which invalidates the token just the same: both need a new token.
_INVALID_TOKEN_CODE = 190
_EXPIRED_TOKEN_SUBCODES = frozenset({460, 463})
_NOT_FOUND_CODE = 100  # with subcode 33 "object does not exist"; also "invalid parameter"
_PERMISSION_CODES = frozenset({10, *range(200, 300)})
# 4/17/32/613: Graph API call limits; 80007: WABA rate limit. (Cloud API send limits such as
# 130429 are in META_ERRORS.)
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007})
# common.http failures. `blocked_address` cannot happen with guard=False; map it anyway.
_OUTBOUND_ERROR_CODES = {
    "timeout": "timeout",
    "unreachable": "unreachable",
    "blocked_address": "unreachable",
    "invalid_response": "invalid_response",
}

# ids end up in the URL path: digits only, so no id can walk the path ("../", "?", "#").
# [0-9] rather than \d, which also matches non-ASCII digits.
GRAPH_ID = re.compile(r"[0-9]{1,20}")
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
        detail: str | None = None,
    ):
        self.error_code = error_code
        self.message = GRAPH_ERROR_MESSAGES[error_code]
        meta_error = meta_error_for(graph_code)
        # Who the error concerns (SCOPE_*), or None when it is not about sending at all.
        self.scope = (
            meta_error.scope
            if meta_error and meta_error.error_code == error_code
            else _SCOPE_OF_CODE.get(error_code)
        )
        # Meta's own explanation, only where it is written for users (a refused template).
        self.detail = detail
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


HEALTH_FIELDS = (
    "display_phone_number,verified_name,quality_rating,status,name_status,"
    "whatsapp_business_manager_messaging_limit,throughput"
)
MAX_STATUS_LENGTH = 40


@dataclass
class NumberHealth:
    """The phone number as Meta sees it now. Optional fields are None when Meta left them out
    or sent something that does not fit."""

    display_phone_number: str
    verified_name: str
    quality_rating: str | None  # GREEN, YELLOW, RED, UNKNOWN
    status: str | None  # CONNECTED, FLAGGED, RESTRICTED, RATE_LIMITED, BANNED, ...
    name_status: str | None
    messaging_limit_tier: str | None  # TIER_250, TIER_2K, ..., TIER_UNLIMITED
    throughput_level: str | None  # STANDARD, HIGH, ...


def number_health(*, phone_number_id: str, access_token: str) -> NumberHealth:
    """One `GET /{phone-number-id}` with the health fields, with the stored token."""
    _check_id(phone_number_id, "phone_number_id")
    _check_token(access_token)
    node = _call(
        "GET",
        phone_number_id,
        token=access_token,
        deadline=_deadline(),
        params={"fields": HEALTH_FIELDS},
        field="phone_number_id",
    )
    limit = node.get("whatsapp_business_manager_messaging_limit")
    if isinstance(limit, dict):  # tolerate an object form: {"current_limit": "TIER_2K"}
        limit = limit.get("current_limit") or limit.get("max_daily_conversations_per_business")
    throughput = node.get("throughput")
    throughput = throughput.get("level") if isinstance(throughput, dict) else None
    return NumberHealth(
        display_phone_number=_required_text(
            node, "display_phone_number", MAX_DISPLAY_PHONE_NUMBER_LENGTH
        ),
        verified_name=_required_text(node, "verified_name", MAX_VERIFIED_NAME_LENGTH),
        quality_rating=_optional_text(node, "quality_rating", MAX_QUALITY_RATING_LENGTH),
        status=_optional_text(node, "status", MAX_STATUS_LENGTH),
        name_status=_optional_text(node, "name_status", MAX_STATUS_LENGTH),
        messaging_limit_tier=_optional_text({"v": limit}, "v", MAX_QUALITY_RATING_LENGTH),
        throughput_level=_optional_text({"v": throughput}, "v", MAX_QUALITY_RATING_LENGTH),
    )


@dataclass
class TokenInfo:
    is_valid: bool
    expires_at: int | None  # Unix time; None when the token never expires


def debug_token(*, access_token: str, app_id: str, app_secret: str) -> TokenInfo:
    """`GET /debug_token` with the app token (`app-id|app-secret`, sent in the header only):
    whether the access token is valid and when it expires."""
    _check_id(app_id, "app_id")
    _check_token(access_token)
    _check_token(app_secret)
    answer = _call(
        "GET",
        "debug_token",
        token=f"{app_id}|{app_secret}",
        deadline=_deadline(),
        params={"input_token": access_token},
        field="app_id",
    )
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("is_valid"), bool):
        raise _fail("invalid_response")
    expires_at = _as_int(data.get("expires_at"))
    return TokenInfo(is_valid=data["is_valid"], expires_at=expires_at or None)


def send_text(*, phone_number_id: str, access_token: str, to: str, body: str) -> str:
    """Send a plain text message; return the `wamid` Meta assigned to it."""
    _check_id(phone_number_id, "phone_number_id")
    _check_token(access_token)
    _check_recipient(to)
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
    return _message_id(answer)


def _message_id(answer: dict) -> str:
    # Nothing counts as sent unless Meta gave it a message id.
    messages = answer.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        raise _fail("invalid_response")
    # Meta's wamids are about 60 characters; one that does not fit the column is not Meta's.
    return _required_text(messages[0], "id", MAX_MESSAGE_ID_LENGTH)


def _check_recipient(to: str) -> None:
    if not isinstance(to, str) or not _RECIPIENT.fullmatch(to):
        raise ValueError("to must be 8 to 15 ASCII digits, without '+'")


def send_template(
    *,
    phone_number_id: str,
    access_token: str,
    to: str,
    name: str,
    language: str,
    parameters: list[str] | dict[str, str],
) -> str:
    """Send an approved template; return the `wamid`. `parameters` fill the body's variables:
    a list for positional ones ({{1}}, {{2}}…, in order), a dict for named ones."""
    _check_id(phone_number_id, "phone_number_id")
    _check_token(access_token)
    _check_recipient(to)
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
        raise ValueError("name must be a template name (lowercase letters, digits, underscores)")
    if not isinstance(language, str) or not TEMPLATE_LANGUAGE.fullmatch(language):
        raise ValueError("language must be a template language code such as en_US")
    template: dict[str, Any] = {
        "name": name,
        "language": {"code": language, "policy": "deterministic"},
    }
    if isinstance(parameters, dict):
        body_parameters = [
            {"type": "text", "parameter_name": key, "text": value}
            for key, value in parameters.items()
        ]
    else:
        body_parameters = [{"type": "text", "text": value} for value in parameters]
    if any(not isinstance(p["text"], str) for p in body_parameters):
        raise ValueError("parameter values must be text")
    if body_parameters:
        template["components"] = [{"type": "body", "parameters": body_parameters}]
    answer = _call(
        "POST",
        f"{phone_number_id}/messages",
        token=access_token,
        deadline=_deadline(),
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        },
        field="phone_number_id",
    )
    return _message_id(answer)


# --- message templates -------------------------------------------------------------------------

TEMPLATE_FIELDS = (
    "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
)
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]{2,8})?")
TEMPLATES_PAGE_SIZE = 100
# 100 pages of 100: more templates than Meta lets one account keep. Beyond it the answer is not
# Meta's (a server paging forever).
MAX_TEMPLATE_PAGES = 100
# Column sizes of the stored copy (messaging.MessageTemplate).
MAX_TEMPLATE_ID_LENGTH = 40
MAX_TEMPLATE_TEXT_LENGTH = 40  # status, category, parameter_format, quality, reason
MAX_TEMPLATE_COMPONENTS_BYTES = 64 * 1024


@dataclass
class MessageTemplate:
    """One template as Meta lists it."""

    meta_id: str
    name: str
    language: str
    status: str
    category: str
    components: list
    parameter_format: str  # "POSITIONAL" or "NAMED"
    quality_score: str  # GREEN, YELLOW, RED, UNKNOWN or ""
    rejected_reason: str  # "" when none


@dataclass
class SubmittedTemplate:
    meta_id: str
    status: str
    category: str


def list_message_templates(*, business_account_id: str, access_token: str) -> list[MessageTemplate]:
    """Every template of the WhatsApp Business Account, following `paging.next` to the end.

    Only the query of `paging.next` (its cursor) is used: the request always goes to our own
    Graph base URL, so an answer can never send us (and our token) to another host. A template
    whose fields do not fit is left out; a page that does not fit fails the whole listing, so a
    caller never mistakes a partial list for the full one."""
    _check_id(business_account_id, "business_account_id")
    _check_token(access_token)
    params: dict[str, str] = {"fields": TEMPLATE_FIELDS, "limit": str(TEMPLATES_PAGE_SIZE)}
    templates: list[MessageTemplate] = []
    seen_cursors: set[str] = set()
    for _ in range(MAX_TEMPLATE_PAGES):
        page = _call(
            "GET",
            f"{business_account_id}/message_templates",
            token=access_token,
            deadline=_deadline(),  # per page: a large account takes several
            params=params,
            field="business_account_id",
        )
        data = page.get("data")
        if not isinstance(data, list):
            raise _fail("invalid_response")
        templates.extend(t for t in map(_template_from, data) if t is not None)
        paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
        next_url = paging.get("next")
        if not data or not isinstance(next_url, str) or not next_url:
            return templates
        params = _next_page_params(next_url)
        cursor = params.get("after", "")
        if not cursor or cursor in seen_cursors:
            raise _fail("invalid_response")  # a next page that goes nowhere new
        seen_cursors.add(cursor)
    raise _fail("invalid_response")


def _next_page_params(next_url: str) -> dict[str, str]:
    try:
        query = urlsplit(next_url).query
    except ValueError:
        raise _fail("invalid_response") from None
    # Graph puts the access token into `next`; ours goes in the header only.
    params = {k: v for k, v in parse_qsl(query) if k != "access_token"}
    params.setdefault("fields", TEMPLATE_FIELDS)
    return params


def _template_from(item: Any) -> MessageTemplate | None:
    if not isinstance(item, dict):
        return None
    meta_id = item.get("id")
    name, language = item.get("name"), item.get("language")
    if not (
        isinstance(meta_id, str)
        and GRAPH_ID.fullmatch(meta_id)
        and isinstance(name, str)
        and TEMPLATE_NAME.fullmatch(name)
        and isinstance(language, str)
        and TEMPLATE_LANGUAGE.fullmatch(language)
    ):
        return None
    components = item.get("components")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        components = []
    try:
        encoded = jsonlib.dumps(components)
    except (TypeError, ValueError, RecursionError):
        return None
    if len(encoded) > MAX_TEMPLATE_COMPONENTS_BYTES or "\\u0000" in encoded:
        return None
    quality = item.get("quality_score")
    if isinstance(quality, dict):  # Graph: {"score": "GREEN", "date": 1700000000}
        quality = quality.get("score")
    return MessageTemplate(
        meta_id=meta_id,
        name=name,
        language=language,
        status=_short_code(item.get("status")) or "UNKNOWN",
        category=_short_code(item.get("category")),
        components=components,
        parameter_format=_short_code(item.get("parameter_format")) or "POSITIONAL",
        quality_score=_short_code(quality),
        rejected_reason=_short_code(item.get("rejected_reason")),
    )


def _short_code(value: Any) -> str:
    """One of Meta's upper-case codes (APPROVED, MARKETING, GREEN…), or "" if it is not one."""
    if isinstance(value, str) and re.fullmatch(r"[A-Z_]{1,40}", value):
        return value
    return ""


def create_message_template(
    *,
    business_account_id: str,
    access_token: str,
    name: str,
    language: str,
    category: str,
    components: list,
    parameter_format: str | None = None,
) -> SubmittedTemplate:
    """Submit a template for Meta's review. Meta answers `{id, status, category}` (usually
    PENDING; it may already have changed the category)."""
    _check_id(business_account_id, "business_account_id")
    _check_token(access_token)
    body: dict[str, Any] = {
        "name": name,
        "language": language,
        "category": category,
        "components": components,
    }
    if parameter_format:
        body["parameter_format"] = parameter_format
    answer = _call(
        "POST",
        f"{business_account_id}/message_templates",
        token=access_token,
        deadline=_deadline(),
        json=body,
        field="business_account_id",
        template_submission=True,
    )
    meta_id = answer.get("id")
    if not isinstance(meta_id, str) or not GRAPH_ID.fullmatch(meta_id):
        raise _fail("invalid_response")
    return SubmittedTemplate(
        meta_id=meta_id,
        status=_short_code(answer.get("status")) or "PENDING",
        category=_short_code(answer.get("category")) or category,
    )


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
    template_submission: bool = False,
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
        raise _error_from_response(
            response, field, token=token, template_submission=template_submission
        )
    try:
        payload = response.json()
    except http.OutboundError:
        raise _fail("invalid_response", status=response.status) from None
    if not isinstance(payload, dict):
        raise _fail("invalid_response", status=response.status)
    return payload


def _error_from_response(
    response: http.OutboundResponse, field: str, *, token: str, template_submission: bool
) -> GraphError:
    code = subcode = fbtrace_id = detail = None
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
        if template_submission:
            detail = _user_detail(error, token)
    error_code = _classify(code, subcode, template_submission=template_submission)
    return _fail(
        error_code,
        status=response.status,
        graph_code=code,
        graph_subcode=subcode,
        fbtrace_id=fbtrace_id,
        field=field if error_code == "not_found" else None,
        detail=detail,
    )


MAX_DETAIL_LENGTH = 500


def _user_detail(error: dict, token: str) -> str | None:
    """Meta's explanation of a refused template (`error_user_title`/`error_user_msg`, written
    for end users): the only text of Meta's we pass on. Bounded, NUL-free, token-free."""
    parts = [
        error.get(key)
        for key in ("error_user_title", "error_user_msg")
        if isinstance(error.get(key), str)
    ]
    text = ": ".join(part.strip() for part in parts if part.strip())
    if not text:
        return None
    text = text.replace("\x00", "").replace(token, "***")
    return text[:MAX_DETAIL_LENGTH]


def _classify(code: int | None, subcode: int | None, *, template_submission: bool = False) -> str:
    if code == _INVALID_TOKEN_CODE:
        return "token_expired" if subcode in _EXPIRED_TOKEN_SUBCODES else "invalid_token"
    if template_submission and code == _NOT_FOUND_CODE and subcode != 33:
        # Code 100 on a submission is "invalid parameter": the template, not a missing object.
        return _TEMPLATE_CREATE_SUBCODES.get(subcode, "template_invalid")
    if code == _NOT_FOUND_CODE:
        return "not_found"
    if code in _PERMISSION_CODES:
        return "permission_denied"
    if code in _RATE_LIMIT_CODES:
        return "rate_limited"
    if code in META_ERRORS:
        return META_ERRORS[code].error_code
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
    if not isinstance(value, str) or not GRAPH_ID.fullmatch(value):
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
