"""A local stand-in for Meta's Graph API (WhatsApp Cloud API) with Meta's real error shapes.

Serves on 127.0.0.1 on a free port, in a daemon thread:

    with FakeGraph() as fake:
        settings.WHATSAPP_GRAPH_BASE_URL = fake.url + "/v25.0"
        fake.scenario("send", "outside_window")

Endpoints: `GET /vNN.0/{id}` (phone number node, the `fields` asked for), `GET /vNN.0/debug_token`
(with the app token `app-id|app-secret`), `GET /vNN.0/{waba-id}/phone_numbers` (cursor
paging like Graph: `cursors.after` on every non-empty page, `next` only when more pages exist),
`POST /vNN.0/{phone-number-id}/messages` (text and template messages),
`GET|POST /vNN.0/{waba-id}/message_templates` (list with paging; submit). Every request is
recorded in `.requests`; every accepted message in `.sent`. Template webhooks: see
devtools/fakes/graph_templates.py.

A test can expire or revoke a token that worked (`fake.expire_token(VALID_TOKEN)`), change the
number's health (`fake.set_number(PHONE_NUMBER_ID, status="FLAGGED", quality_rating="RED")`),
and set when a token expires for debug_token (`fake.token_expires_at[token] = unix time`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools.fakes import graph_templates

# Realistic values (shapes as Meta issues them). Each token has distinct last 4 characters.
VALID_TOKEN = (
    "EAAGu8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7Dxtp"
    "YlSXpfKtHF4vUCsMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsTy4Qwb8DwkNhFdnXsiVpzz"
    "63FfkC"
)
EXPIRED_TOKEN = (
    "EAAGzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIxNKu8iS2G8NPRVdD53X83RZJzzzzgEOzdmenCkhvMdgaKjI"
    "g8xNbe3nNyjOq9wMxEhh2FDEEtfjgVvVqE1SkHbn88HxjSI6bWHtP3fS2qHx6kwXoIIXGvOoNZYW2mZp0zVZomH"
    "FwUbbY"
)
INVALID_TOKEN = (
    "EAAGrEqmSM9wCZ7Uw9xfogoEmvnEN5N1aE6PwZPf1Qh6yYTWmE4lBYOvfZ8UzDzV8fUkkibjL5DZPjN0MEQ7wjJ"
    "JibaZUPgHV7iB3m03nbqnsGpWLuqIA1id6Vw5DQL05HA064GiIjHGb3CXlMaXZjljENUhJduRHHJEYXg4Jdpmrc"
    "XgGCJb"
)
NO_PERMISSION_TOKEN = (
    "EAAGW56eCuNGMGmSrCGIZEG8pSH4487q7J58m1CiAhzCueQpBenQtYh5Xj8TPQxjq4i9DoV8gz4FkQ1okTBGzvA"
    "mwufUxbvJDCTbyvHNsG9eh6Yo4gfqrc5XlrWi0B26R08qzjI6GKFSufrdZSlB5er8bOfZqfM2oeq3hDavJA76r"
    "NicHTp8"
)
# A second working token: the one a church creates after the first expired.
NEW_TOKEN = (
    "EAAGNeWt0kEn9x2Lq8RzVbC4mP1sT6yU3wHjK7dF0gA5eZ2iO9nQ4rX8cB1vM6lS3pY7tW0uE5kJ2hG9fD4aZ"
    "8xC1vB6nM3qL7wR0tY5uI2oP9sA4dF7gH1jK3lZ6xC8vB2nM5qW9eR3tY7uI0oP4aS8dF2gH6jK9lZ1xC5vBn"
    "Wt0kEN"
)
APP_ID = "1234567890123456"
APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PHONE_NUMBER_ID = "277321005464405"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "+1 555-096-7852"
VERIFIED_NAME = "Test Number"
OTHER_WABA_ID = "118844209356702"
OTHER_PHONE_NUMBER_ID = "301598726043118"
RECIPIENT = "16505551234"

# Per endpoint kind, the scenarios a test can switch on (checked after authentication).
ENDPOINT_KINDS = ("phone", "phone_numbers", "send", "templates", "template_create")
_POST_KINDS = ("send", "template_create")
COMMON_SCENARIOS = (
    "ok",
    "rate_limit",  # code 4
    "throughput_limit",  # code 130429
    "permission",  # code 10
    "server_error",  # HTTP 500 with a Graph-shaped body
    "bad_gateway",  # HTTP 502 HTML page from a proxy in front of Graph
    "garbage",  # HTTP 200, HTML
    "missing_fields",  # HTTP 200, JSON without the expected fields
    "hang",  # never answers until stop()
)
SEND_SCENARIOS = (
    "recipient_not_allowed",
    "outside_window",
    "undeliverable",
    "marketing_opted_out",  # 131050
    "engagement_limited",  # 131049
    "pair_rate_limit",  # 131056: too many messages to this person too fast
    "account_blocked",  # 368: temporarily blocked for policy violations
    "account_locked",  # 131031: the business account is locked
)

_PATH = re.compile(r"/v\d+\.\d+/(?P<id>\d+)(?P<edge>/phone_numbers|/messages|/message_templates)?")
_DEBUG_TOKEN = re.compile(r"/v\d+\.\d+/debug_token")
# Fields of a phone number node a client may ask for; the default when it names none.
_PHONE_FIELDS = (
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "status",
    "name_status",
    "whatsapp_business_manager_messaging_limit",
    "throughput",
    "code_verification_status",
    "platform_type",
    "id",
)
_DEFAULT_PHONE_FIELDS = ("display_phone_number", "verified_name", "quality_rating", "id")


def phone_number(
    id: str,
    display_phone_number: str = DISPLAY_PHONE_NUMBER,
    verified_name: str = VERIFIED_NAME,
    quality_rating: str = "GREEN",
) -> dict[str, Any]:
    """A phone number node as Graph returns it."""
    return {
        "verified_name": verified_name,
        "code_verification_status": "NOT_VERIFIED",
        "display_phone_number": display_phone_number,
        "quality_rating": quality_rating,
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "status": "CONNECTED",
        "name_status": "APPROVED",
        "whatsapp_business_manager_messaging_limit": "TIER_2K",
        "id": id,
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


def _graph_error(status: int, code: int, message: str, **extra: Any) -> _Answer:
    error = {"message": message, "type": extra.pop("type", "OAuthException"), "code": code}
    error.update(extra)
    error["fbtrace_id"] = _fbtrace_id()
    return _json_answer(status, {"error": error})


def _send_error(code: int, title: str, details: str) -> _Answer:
    return _graph_error(
        400,
        code,
        f"(#{code}) {title}",
        error_data={"messaging_product": "whatsapp", "details": details},
    )


def _json_answer(status: int, payload: Any) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


# The answers of the scenarios that do not depend on the endpoint (built per request: each
# carries a fresh fbtrace_id).
_SCENARIO_ANSWERS: dict[str, Any] = {
    "rate_limit": lambda: _graph_error(
        400, 4, "(#4) Application request limit reached", is_transient=True
    ),
    "throughput_limit": lambda: _graph_error(
        429,
        130429,
        "(#130429) Rate limit hit",
        error_data={
            "messaging_product": "whatsapp",
            "details": "Cloud API message throughput has been reached.",
        },
    ),
    "permission": lambda: _graph_error(
        403, 10, "(#10) Application does not have permission for this action"
    ),
    "server_error": lambda: _graph_error(
        500, 1, "An unknown error has occurred.", error_subcode=99, is_transient=True
    ),
    "bad_gateway": lambda: _Answer(
        502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}
    ),
    "garbage": lambda: _Answer(
        200,
        b"<html><body>Sorry, something went wrong.</body></html>",
        {"Content-Type": "text/html; charset=utf-8"},
    ),
    "recipient_not_allowed": lambda: _send_error(
        131030,
        "Recipient phone number not in allowed list",
        "Recipient phone number not in allowed list: Add recipient phone number to "
        "recipient list and try again.",
    ),
    "outside_window": lambda: _send_error(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number.",
    ),
    "undeliverable": lambda: _send_error(
        131026,
        "Message Undeliverable",
        "Message failed to send because the recipient's phone number is not a "
        "WhatsApp phone number.",
    ),
    "marketing_opted_out": lambda: _send_error(
        131050,
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
        "messages on WhatsApp from your business",
        "The user has stopped marketing messages from this business.",
    ),
    "engagement_limited": lambda: _send_error(
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "Meta chose not to deliver this message.",
    ),
    "pair_rate_limit": lambda: _send_error(
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
    ),
    "account_blocked": lambda: _graph_error(
        400,
        368,
        "Temporarily blocked for policies violations",
        error_data={
            "messaging_product": "whatsapp",
            "details": "The WhatsApp Business Account was restricted for policy violations.",
        },
    ),
    "account_locked": lambda: _send_error(
        131031,
        "Business Account locked",
        "The WhatsApp Business Account associated with this phone number has been locked.",
    ),
}


class FakeGraph:
    def __init__(self) -> None:
        # WABA id -> its phone numbers.
        self.accounts: dict[str, list[dict[str, Any]]] = {
            WABA_ID: [phone_number(PHONE_NUMBER_ID)],
            OTHER_WABA_ID: [
                phone_number(OTHER_PHONE_NUMBER_ID, "+1 555-012-3456", "Grace Chapel", "YELLOW")
            ],
        }
        # token -> "valid" | "expired" | "invalid" | "no_permission"; unknown tokens are invalid.
        self.tokens: dict[str, str] = {
            VALID_TOKEN: "valid",
            NEW_TOKEN: "valid",
            EXPIRED_TOKEN: "expired",
            INVALID_TOKEN: "invalid",
            NO_PERMISSION_TOKEN: "no_permission",
        }
        # The Meta app whose token debug_token accepts, and when each token expires (Unix
        # time; absent or 0: never).
        self.app_id = APP_ID
        self.app_secret = APP_SECRET
        self.token_expires_at: dict[str, int] = {}
        # Graph answers code 190 with HTTP 400 or 401; tests pick.
        self.invalid_token_status = 401
        # Graph's default page size for /phone_numbers is 25; a test can shrink it to force paging.
        self.max_page_size = 25
        self.scenarios: dict[str, str] = dict.fromkeys(ENDPOINT_KINDS, "ok")
        # Recipient (digits, as sent in "to") -> send scenario: sends to that number answer
        # with it, whatever the send endpoint's scenario (the demo's failing recipients).
        self.recipient_scenarios: dict[str, str] = {}
        # Seconds to wait before answering any request (a slow but working Graph).
        self.delay = 0.0
        self.requests: list[RecordedRequest] = []
        self.sent: list[dict[str, Any]] = []
        # Called with each accepted message (the fake Meta app reports its delivery).
        self.on_send: Callable[[dict[str, Any]], None] | None = None
        # The id the next accepted send gets (None: a random one), for tests that must know it.
        self.next_message_id: str | None = None
        # WABA id -> its message templates, as Graph lists them (graph_templates.template()).
        self.templates: dict[str, list[dict[str, Any]]] = {WABA_ID: [], OTHER_WABA_ID: []}
        # Graph's default page size for /message_templates is 25; tests shrink it to force paging.
        self.max_template_page_size = 25
        # Recipients (digits) who have not written in 24 hours: free text to them answers 131047.
        self.closed_windows: set[str] = set()
        # Sends per second one number may make before Graph answers 130429 (None: no limit).
        self.max_sends_per_second: int | None = None
        # Seconds after which a submitted template is decided (None: it stays PENDING until a
        # test calls set_template_status): approved, or rejected when its name starts with
        # "reject" (the demo's way to show both).
        self.decide_templates_after: float | None = None
        self._send_times: list[float] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeGraph is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeGraph:
        """Serve on 127.0.0.1:`port` (0: a free port)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test controls ---------------------------------------------------------------------

    def scenario(self, kind: str, name: str) -> None:
        """Make every request to one endpoint kind answer with scenario `name`."""
        allowed = COMMON_SCENARIOS + (SEND_SCENARIOS if kind == "send" else ())
        if kind not in ENDPOINT_KINDS or name not in allowed:
            raise ValueError(f"unknown scenario {kind!r}/{name!r}")
        self.scenarios[kind] = name

    def expire_token(self, token: str) -> None:
        """From now on Graph answers `token` with error 190/463 (session expired)."""
        self.tokens[token] = "expired"

    def revoke_token(self, token: str) -> None:
        """From now on Graph answers `token` with error 190 (invalid token)."""
        self.tokens[token] = "invalid"

    def set_number(self, phone_number_id: str, **fields: Any) -> None:
        """Changes fields of a phone number node (status, quality_rating, ...)."""
        number = self._find_number(phone_number_id)
        if number is None:
            raise ValueError(f"unknown phone number {phone_number_id}")
        number.update(fields)

    def requests_to(self, kind: str) -> list[RecordedRequest]:
        matches = []
        for request in self.requests:
            match = _PATH.fullmatch(request.path)
            if match and _kind(match["edge"], request.method) == kind:
                matches.append(request)
        return matches

    # -- templates (see graph_templates) ---------------------------------------------------

    def add_template(self, name: str, waba_id: str = WABA_ID, **fields: Any) -> dict[str, Any]:
        """Adds a template to a WABA as if made in Meta's tools; returns it as Graph lists it."""
        item = graph_templates.template(name, **fields)
        with self._lock:
            self.templates[waba_id].append(item)
        return item

    def find_template(self, name: str, language: str, waba_id: str = WABA_ID) -> dict[str, Any]:
        for item in self.templates[waba_id]:
            if item["name"] == name and item["language"] == language:
                return item
        raise KeyError(f"no template {name} ({language})")

    def set_template_status(
        self, name: str, language: str, status: str, reason: str = "NONE", waba_id: str = WABA_ID
    ) -> dict[str, Any]:
        """Meta decides on a template: the status changes here and the returned webhook
        delivery (`message_template_status_update`) tells the app."""
        item = self.find_template(name, language, waba_id)
        item["status"] = status
        item["rejected_reason"] = reason if status == "REJECTED" else "NONE"
        if status == "DELETED":
            self.templates[waba_id].remove(item)
        value = {"event": status, **graph_templates.template_identity(item), "reason": reason}
        return graph_templates.template_webhook(waba_id, "message_template_status_update", value)

    def set_template_quality(
        self, name: str, language: str, quality: str, waba_id: str = WABA_ID
    ) -> dict[str, Any]:
        item = self.find_template(name, language, waba_id)
        previous = item["quality_score"]["score"]
        item["quality_score"] = {"score": quality, "date": int(time.time())}
        value = {
            "previous_quality_score": previous,
            "new_quality_score": quality,
            **graph_templates.template_identity(item),
        }
        return graph_templates.template_webhook(waba_id, "message_template_quality_update", value)

    def set_template_category(
        self, name: str, language: str, category: str, waba_id: str = WABA_ID
    ) -> dict[str, Any]:
        item = self.find_template(name, language, waba_id)
        previous, item["category"] = item["category"], category
        value = {
            **graph_templates.template_identity(item),
            "previous_category": previous,
            "new_category": category,
        }
        return graph_templates.template_webhook(waba_id, "template_category_update", value)

    # -- request handling ------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = RecordedRequest(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query),
                    headers=dict(self.headers.items()),
                    json=body,
                )
                with fake._lock:
                    fake.requests.append(request)
                if fake.delay:
                    fake._stopping.wait(timeout=fake.delay)
                answer = fake._route(request)
                if answer is None:  # hang: hold the connection until stop()
                    fake._stopping.wait(timeout=30)
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler

    def _route(self, request: RecordedRequest) -> _Answer | None:
        if _DEBUG_TOKEN.fullmatch(request.path):
            return self._debug_token(request)
        return self._answer(request)

    def _answer(self, request: RecordedRequest) -> _Answer | None:
        match = _PATH.fullmatch(request.path)
        if match is None:
            return _graph_error(400, 2500, f"Unknown path components: {request.path}")
        object_id, edge = match["id"], match["edge"]
        kind = _kind(edge, request.method)
        if (kind in _POST_KINDS) != (request.method == "POST"):
            return _graph_error(400, 100, "Unsupported request - method type: " + request.method)

        auth_error = self._auth_error(request)
        if auth_error is not None:
            return auth_error

        scenario = self.scenarios[kind]
        if kind == "send" and isinstance(request.json, dict):
            scenario = self.recipient_scenarios.get(str(request.json.get("to")), scenario)
        if scenario != "ok":
            return self._scenario_answer(kind, scenario)
        if kind == "phone":
            return self._phone(object_id, request.query)
        if kind == "phone_numbers":
            return self._phone_numbers(object_id, request.query)
        if kind == "templates":
            return self._templates(object_id, request)
        if kind == "template_create":
            return self._template_create(object_id, request.json)
        return self._send(object_id, request.json)

    def _auth_error(self, request: RecordedRequest) -> _Answer | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        status = self.tokens.get(token, "invalid")
        if status == "valid":
            return None
        if status == "no_permission":
            return _graph_error(
                403, 10, "(#10) Application does not have permission for this action"
            )
        if status == "expired":
            answer = _graph_error(
                self.invalid_token_status,
                190,
                "Error validating access token: Session has expired on Tuesday, 04-Mar-25 "
                "04:00:00 PST. The current time is Wednesday, 05-Mar-25 10:12:31 PST.",
                error_subcode=463,
            )
        else:
            answer = _graph_error(
                self.invalid_token_status,
                190,
                "Invalid OAuth access token - Cannot parse access token",
            )
        if self.invalid_token_status == 401:
            answer.headers["WWW-Authenticate"] = (
                'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"'
            )
        return answer

    def _scenario_answer(self, kind: str, scenario: str) -> _Answer | None:
        if scenario == "hang":
            return None
        if scenario == "missing_fields":
            if kind == "send":
                return _json_answer(
                    200, {"messaging_product": "whatsapp", "contacts": [], "messages": []}
                )
            return _json_answer(200, {"id": PHONE_NUMBER_ID})
        return _SCENARIO_ANSWERS[scenario]()

    def _unknown_object(self, object_id: str) -> _Answer:
        return _graph_error(
            400,
            100,
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            type="GraphMethodException",
            error_subcode=33,
        )

    def _find_number(self, phone_number_id: str) -> dict[str, Any] | None:
        for numbers in self.accounts.values():
            for number in numbers:
                if number["id"] == phone_number_id:
                    return number
        return None

    def _phone(self, object_id: str, query: dict[str, list[str]]) -> _Answer:
        number = self._find_number(object_id)
        if number is None:
            return self._unknown_object(object_id)
        asked = query.get("fields", [""])[0].split(",") if query.get("fields") else []
        unknown = [name for name in asked if name and name not in _PHONE_FIELDS]
        if unknown:
            return _graph_error(
                400,
                100,
                f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                "(WhatsAppBusinessPhoneNumber)",
            )
        fields = [name for name in asked if name] or list(_DEFAULT_PHONE_FIELDS)
        answer = {key: number[key] for key in fields if key in number}
        answer["id"] = number["id"]
        return _json_answer(200, answer)

    def _debug_token(self, request: RecordedRequest) -> _Answer:
        """Graph's token inspector: the app token authenticates, `input_token` is inspected."""
        header = request.headers.get("Authorization", "")
        app_token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        if app_token != f"{self.app_id}|{self.app_secret}":
            return _graph_error(400, 190, "Invalid OAuth access token signature.")
        input_token = request.query.get("input_token", [""])[0]
        if not input_token:
            return _graph_error(400, 100, "The parameter input_token is required")
        status = self.tokens.get(input_token, "invalid")
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "type": "SYSTEM_USER",
            "application": "Church Messaging",
            "expires_at": self.token_expires_at.get(input_token, 0),
            "is_valid": status in ("valid", "no_permission"),
            "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
        }
        if status == "expired":
            data["error"] = {"code": 190, "message": "Session has expired", "subcode": 463}
        return _json_answer(200, {"data": data})

    def _phone_numbers(self, waba_id: str, query: dict[str, list[str]]) -> _Answer:
        if waba_id not in self.accounts:
            if self._find_number(waba_id) is not None:
                # What Graph says when a phone number id is used as the WABA id.
                return _graph_error(
                    400,
                    100,
                    "(#100) Tried accessing nonexisting field (phone_numbers) on node type "
                    "(WhatsAppBusinessPhoneNumber)",
                )
            return self._unknown_object(waba_id)
        numbers = self.accounts[waba_id]
        limit = min(int(query.get("limit", ["25"])[0]), self.max_page_size)
        start = int(base64.b64decode(query["after"][0])) if "after" in query else 0
        page = numbers[start : start + limit]
        payload: dict[str, Any] = {"data": page}
        if page:
            end = start + len(page)
            payload["paging"] = {
                "cursors": {
                    "before": base64.b64encode(str(start).encode()).decode(),
                    "after": base64.b64encode(str(end).encode()).decode(),
                }
            }
            if end < len(numbers):
                # A URL the client must never follow: it points somewhere else entirely.
                payload["paging"]["next"] = "http://203.0.113.9/never-follow-me"
        return _json_answer(200, payload)

    def _templates(self, waba_id: str, request: RecordedRequest) -> _Answer:
        if waba_id not in self.templates:
            return self._unknown_object(waba_id)
        base_url = f"{self.url}{request.path}"
        # Graph's next URL carries the token in its query; the fake's carries the one used.
        query = dict(request.query)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        query.setdefault("access_token", [token])
        payload = graph_templates.list_page(
            self.templates[waba_id],
            query,
            base_url=base_url,
            max_size=self.max_template_page_size,
        )
        return _json_answer(200, payload)

    def _template_create(self, waba_id: str, body: Any) -> _Answer:
        if waba_id not in self.templates:
            return self._unknown_object(waba_id)
        refused = graph_templates.submission_error(self.templates[waba_id], body)
        if refused is not None:
            subcode, message, title, user_message = refused
            return _graph_error(
                400,
                100,
                message,
                error_subcode=subcode,
                is_transient=False,
                error_user_title=title,
                error_user_msg=user_message,
            )
        item = {
            "id": graph_templates.new_template_id(),
            "name": body["name"],
            "language": body.get("language"),
            "status": "PENDING",
            "category": body["category"],
            "components": body["components"],
            "parameter_format": body.get("parameter_format") or "POSITIONAL",
            "quality_score": {"score": "UNKNOWN", "date": int(time.time())},
            "rejected_reason": "NONE",
        }
        with self._lock:
            self.templates[waba_id].append(item)
        if self.decide_templates_after is not None:
            timer = threading.Timer(self.decide_templates_after, _decide, args=(item,))
            timer.daemon = True
            timer.start()
        return _json_answer(
            200, {"id": item["id"], "status": "PENDING", "category": item["category"]}
        )

    def _waba_of(self, phone_number_id: str) -> str:
        for waba_id, numbers in self.accounts.items():
            if any(number["id"] == phone_number_id for number in numbers):
                return waba_id
        return ""

    def _throughput_exceeded(self) -> bool:
        if self.max_sends_per_second is None:
            return False
        now = time.monotonic()
        with self._lock:
            self._send_times = [t for t in self._send_times if now - t < 1.0]
            if len(self._send_times) >= self.max_sends_per_second:
                return True
            self._send_times.append(now)
        return False

    def _send_refusal(self, phone_number_id: str, body: dict[str, Any]) -> _Answer | None:
        """Meta's errors for a well-formed message: throughput, window, template checks."""
        if self._throughput_exceeded():
            return self._scenario_answer("send", "throughput_limit")
        if body["type"] == "text" and body["to"] in self.closed_windows:
            return self._scenario_answer("send", "outside_window")
        if body["type"] == "template":
            templates = self.templates.get(self._waba_of(phone_number_id), [])
            refused = graph_templates.send_error(templates, body)
            if refused is not None:
                return _send_error(*refused)
        return None

    def _send(self, phone_number_id: str, body: Any) -> _Answer:
        if self._find_number(phone_number_id) is None:
            return self._unknown_object(phone_number_id)
        if not _well_formed_message(body):
            return _graph_error(
                400,
                100,
                "(#100) Invalid parameter",
                error_data={"messaging_product": "whatsapp", "details": "Invalid parameter"},
            )
        refused = self._send_refusal(phone_number_id, body)
        if refused is not None:
            return refused
        message_id = self.next_message_id or (
            "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()
        )
        self.next_message_id = None
        message = {"id": message_id, "from": phone_number_id, "at": time.time(), **body}
        with self._lock:
            self.sent.append(message)
        if self.on_send is not None:
            self.on_send(message)
        return _json_answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": message_id}],
            },
        )


def _kind(edge: str | None, method: str) -> str:
    if edge == "/message_templates":
        return "template_create" if method == "POST" else "templates"
    return {None: "phone", "/phone_numbers": "phone_numbers", "/messages": "send"}[edge]


def _well_formed_message(body: Any) -> bool:
    if not (
        isinstance(body, dict)
        and body.get("messaging_product") == "whatsapp"
        and isinstance(body.get("to"), str)
    ):
        return False
    if body.get("type") == "text":
        return isinstance(body.get("text"), dict) and isinstance(body["text"].get("body"), str)
    if body.get("type") == "template":
        spec = body.get("template")
        return isinstance(spec, dict) and isinstance(spec.get("name"), str)
    return False


def _decide(item: dict[str, Any]) -> None:
    if item["name"].startswith("reject"):
        item["status"], item["rejected_reason"] = "REJECTED", "INVALID_FORMAT"
    else:
        item["status"] = "APPROVED"
