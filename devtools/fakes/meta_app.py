"""A local stand-in for a Meta app's webhook side: the WhatsApp > Configuration page where a
church pastes its callback URL and verify token (Meta checks them with a GET carrying
`hub.challenge`, as the real one does), and the delivery reports Meta then posts for each
message the fake Graph API accepted: sent, delivered, read, each signed with the app secret
(`X-Hub-Signature-256`).

The page also has forms (and the methods below) that post the other webhooks the app
understands, in Meta's payload shapes: a message from a contact (STOP, START or any text), a
template's status decision, and a quality update of the number.

    graph = FakeGraph().start()
    app = FakeMetaApp(graph).start()   # graph now reports its sends to app
    app.subscribe(callback_url, verify_token)  # or the form at app.url + "/"
    app.send_inbound("16505551234", "STOP")    # -> the app's HTTP answer (0: unreachable)
    app.change_template_status("sunday_service", "en_US", "PAUSED")
    app.change_quality("FLAGGED")
    ...
    app.stop()

Used by `make demo`, so the message history fills in as it would with Meta.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from devtools.fakes.graph import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID, FakeGraph
from devtools.fakes.graph_templates import signed_webhook

APP_SECRET = "demo-app-secret-5f1c2e9a7b3d4c6e"  # the Meta app's secret (App settings > Basic)
PROGRESS = ("sent", "delivered", "read")
# Template decisions the page offers, with the reason Meta gives for each.
TEMPLATE_DECISIONS = {"APPROVED": "NONE", "REJECTED": "INVALID_FORMAT", "PAUSED": "NONE"}
# phone_number_quality_update events the page offers, and what they do to the fake's number
# (so the next health check agrees with the webhook).
QUALITY_EVENTS = {
    "FLAGGED": {"status": "FLAGGED", "quality_rating": "RED"},
    "UNFLAGGED": {"status": "CONNECTED", "quality_rating": "GREEN"},
}
_WA_ID = re.compile(r"[1-9][0-9]{6,14}")  # a WhatsApp id: the number's digits, E.164 without +


class FakeMetaApp:
    def __init__(self, graph: FakeGraph, *, app_secret: str = APP_SECRET, step: float = 1.0):
        self.graph = graph
        self.app_secret = app_secret
        self.step = step  # seconds between a message's reports
        self.callback_url: str | None = None
        self.delivered: list[tuple[str, str, int]] = []  # (message id, status, HTTP answer)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        graph.on_send = self.message_sent

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeMetaApp:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- what Meta does --------------------------------------------------------------------

    def subscribe(self, callback_url: str, verify_token: str) -> str | None:
        """Verifies the callback as Meta does; None when it is subscribed, else why not."""
        parts = urlsplit(callback_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "The callback URL must be an http:// or https:// address."
        challenge = secrets.token_hex(8)
        query = urlencode(
            {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        )
        separator = "&" if parts.query else "?"
        try:
            with urllib.request.urlopen(  # noqa: S310 - the URL was checked above
                callback_url + separator + query, timeout=5
            ) as answer:
                echoed = answer.read(200).decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return f"The callback URL or verify token couldn't be validated ({exc})."
        if echoed != challenge:
            return "The callback URL or verify token couldn't be validated."
        self.callback_url = callback_url
        return None

    def message_sent(self, message: dict[str, Any]) -> None:
        """Called by the fake Graph API for each message it accepted."""
        if self.callback_url is not None:
            threading.Thread(target=self._report, args=(message,), daemon=True).start()

    def _report(self, message: dict[str, Any]) -> None:
        for status in PROGRESS:
            if self._stopping.wait(self.step):
                return
            self._post(message, status)

    def _post(self, message: dict[str, Any], status: str) -> None:
        code = self.deliver(_status_payload(message, status))
        self.delivered.append((message["id"], status, code))

    def deliver(self, payload: dict[str, Any]) -> int:
        """Posts a webhook to the subscribed callback, signed with the app secret as Meta signs
        it; returns the app's HTTP status (0: not subscribed or unreachable)."""
        if self.callback_url is None:
            return 0
        body, headers = signed_webhook(payload, self.app_secret)
        request = urllib.request.Request(  # noqa: S310 - subscribe() checked the scheme
            self.callback_url, data=body, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return 0

    def send_inbound(self, wa_id: str, text: str, name: str = "") -> int:
        """A contact writes to the church's number (`messages` with a text message)."""
        return self.deliver(_inbound_payload(wa_id, text, name))

    def change_template_status(self, name: str, language: str, status: str) -> int:
        """Meta decides on one of the fake Graph's templates (message_template_status_update);
        KeyError when the fake does not know the template."""
        reason = TEMPLATE_DECISIONS.get(status, "NONE")
        return self.deliver(self.graph.set_template_status(name, language, status, reason))

    def change_quality(self, event: str) -> int:
        """Meta flags the number (its quality fell to RED) or lifts the flag (GREEN again):
        phone_number_quality_update, the fake Graph's number changed to match."""
        self.graph.set_number(PHONE_NUMBER_ID, **QUALITY_EVENTS[event])
        number = next(n for n in self.graph.accounts[WABA_ID] if n["id"] == PHONE_NUMBER_ID)
        value = {
            "display_phone_number": _digits(DISPLAY_PHONE_NUMBER),
            "event": event,
            "current_limit": number["whatsapp_business_manager_messaging_limit"],
        }
        return self.deliver(_change(WABA_ID, "phone_number_quality_update", value))

    # -- the configuration page ------------------------------------------------------------

    def submit(self, form: dict[str, str]) -> tuple[int, str]:
        """Handles one of the page's forms; returns the page's HTTP status and a notice."""
        action = form.get("action") or "subscribe"
        if action == "subscribe":
            problem = self.subscribe(form.get("callback_url", ""), form.get("verify_token", ""))
            return (400, problem) if problem else (200, "")
        webhook = {
            "inbound": self._inbound_form,
            "template": self._template_form,
            "quality": self._quality_form,
        }.get(action)
        if webhook is None:
            return 400, "Unknown form."
        if self.callback_url is None:
            return 400, "Subscribe a callback URL first."
        try:
            code = webhook(form)
        except ValueError as exc:
            return 400, str(exc)
        if 200 <= code < 300:
            return 200, f"Posted: the app answered {code}."
        return 502, (
            f"Posted, but the app answered {code or 'nothing'}: is the app secret above stored "
            "in Settings > WhatsApp?"
        )

    def _inbound_form(self, form: dict[str, str]) -> int:
        wa_id, text = _digits(form.get("from", "")), form.get("text", "")
        if not _WA_ID.fullmatch(wa_id) or not text:
            raise ValueError("Give the sender's number with its country code, and a text.")
        return self.send_inbound(wa_id, text[:4096], form.get("name", "")[:200])

    def _template_form(self, form: dict[str, str]) -> int:
        name, _, language = form.get("template", "").partition(":")
        if form.get("status") not in TEMPLATE_DECISIONS:
            raise ValueError("Choose the template's new status.")
        try:
            return self.change_template_status(name, language, form["status"])
        except KeyError:
            raise ValueError("The fake Graph API has no such template.") from None

    def _quality_form(self, form: dict[str, str]) -> int:
        if form.get("event") not in QUALITY_EVENTS:
            raise ValueError("Choose a quality event.")
        return self.change_quality(form["event"])

    def _webhook_forms(self) -> str:
        templates = "".join(
            f'<option value="{escape(t["name"])}:{escape(t["language"])}">{escape(t["name"])} '
            f"({escape(t['language'])}): {escape(t['status'])}</option>"
            for t in list(self.graph.templates.get(WABA_ID, []))
        )
        decisions = "".join(f"<option>{status}</option>" for status in TEMPLATE_DECISIONS)
        return f"""<h2>Send the app a webhook, as Meta would</h2>
<form method="post"><input type="hidden" name="action" value="inbound">
<h3>A message from a contact</h3>
<p>STOP opts the contact out, START back in; any text opens their 24-hour window.</p>
<p><label>From (WhatsApp number with country code)<br>
<input name="from" value="16505551234" size="20"></label></p>
<p><label>Name<br><input name="name" value="Ana Souza" size="30"></label></p>
<p><label>Text<br><input name="text" value="STOP" size="40"></label></p>
<p><button type="submit">Send the message</button></p></form>
<form method="post"><input type="hidden" name="action" value="template">
<h3>A template's status</h3>
<p><label>Template<br><select name="template">{templates}</select></label>
<label>New status<br><select name="status">{decisions}</select></label></p>
<p><button type="submit">Change the status</button></p></form>
<form method="post"><input type="hidden" name="action" value="quality">
<h3>The number's quality</h3>
<p><label>Event<br><select name="event"><option value="FLAGGED">FLAGGED (quality RED)</option>
<option value="UNFLAGGED">UNFLAGGED (quality GREEN)</option></select></label></p>
<p><button type="submit">Send the quality update</button></p></form>"""

    def _page(self, notice: str = "") -> bytes:
        subscribed = (
            f"<p>Subscribed: <code>{escape(self.callback_url)}</code></p>"
            if self.callback_url
            else "<p>Not subscribed yet.</p>"
        )
        notice = f"<p><strong>{escape(notice)}</strong></p>" if notice else ""
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fake Meta app: WhatsApp configuration</title></head><body>
<h1>WhatsApp &gt; Configuration (fake Meta app)</h1>
<p>Paste the webhook URL and verify token from Church Messaging's Settings, and store the app
secret <code>{escape(self.app_secret)}</code> there. Meta then reports each message's delivery.</p>
{notice}{subscribed}
<form method="post"><input type="hidden" name="action" value="subscribe">
<p><label>Callback URL<br><input name="callback_url" size="60"></label></p>
<p><label>Verify token<br><input name="verify_token" size="40"></label></p>
<p><button type="submit">Verify and save</button></p></form>
{self._webhook_forms()}</body></html>""".encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, app._page())

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 10_000)
                fields = parse_qs(self.rfile.read(length).decode(errors="replace"))
                status, notice = app.submit({k: v[0].strip() for k, v in fields.items()})
                self._answer(status, app._page(notice))

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _status_payload(message: dict[str, Any], status: str) -> dict[str, Any]:
    """A status webhook as Meta posts it (entry > changes > value > statuses)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": message["from"]},
                            "statuses": [
                                {
                                    "id": message["id"],
                                    "status": status,
                                    "timestamp": str(int(time.time())),
                                    "recipient_id": message["to"],
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def _change(waba_id: str, field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A webhook delivery of one change (entry > changes > value), as Meta posts it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "time": int(time.time()), "changes": [{"field": field, "value": value}]}
        ],
    }


def _inbound_payload(wa_id: str, text: str, name: str) -> dict[str, Any]:
    """A text message from a contact to the fake Graph's number (`messages`)."""
    message_id = "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": _digits(DISPLAY_PHONE_NUMBER),
            "phone_number_id": PHONE_NUMBER_ID,
        },
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": message_id,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    return _change(WABA_ID, "messages", value)
