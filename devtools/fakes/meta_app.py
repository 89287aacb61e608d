"""A local stand-in for a Meta app's webhook side: the WhatsApp > Configuration page where a
church pastes its callback URL and verify token (Meta checks them with a GET carrying
`hub.challenge`, as the real one does), and the delivery reports Meta then posts for each
message the fake Graph API accepted: sent, delivered, read, each signed with the app secret
(`X-Hub-Signature-256`).

    graph = FakeGraph().start()
    app = FakeMetaApp(graph).start()   # graph now reports its sends to app
    app.subscribe(callback_url, verify_token)  # or the form at app.url + "/"
    ...
    app.stop()

Used by `make demo`, so the message history fills in as it would with Meta.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from devtools.fakes.graph import WABA_ID, FakeGraph

APP_SECRET = "demo-app-secret-5f1c2e9a7b3d4c6e"  # the Meta app's secret (App settings > Basic)
PROGRESS = ("sent", "delivered", "read")


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
        body = json.dumps(_status_payload(message, status)).encode()
        signature = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - subscribe() checked the scheme
            self.callback_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": f"sha256={signature}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                code = answer.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (urllib.error.URLError, OSError):
            code = 0
        self.delivered.append((message["id"], status, code))

    # -- the configuration page ------------------------------------------------------------

    def _page(self, notice: str = "") -> bytes:
        subscribed = (
            f"<p>Subscribed: <code>{escape(self.callback_url)}</code></p>"
            if self.callback_url
            else "<p>Not subscribed yet.</p>"
        )
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fake Meta app: WhatsApp configuration</title></head><body>
<h1>WhatsApp &gt; Configuration (fake Meta app)</h1>
<p>Paste the webhook URL and verify token from Church Messaging's Settings, and store the app
secret <code>{escape(self.app_secret)}</code> there. Meta then reports each message's delivery.</p>
{notice}{subscribed}
<form method="post"><p><label>Callback URL<br><input name="callback_url" size="60"></label></p>
<p><label>Verify token<br><input name="verify_token" size="40"></label></p>
<p><button type="submit">Verify and save</button></p></form></body></html>""".encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, app._page())

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 10_000)
                form = parse_qs(self.rfile.read(length).decode(errors="replace"))
                problem = app.subscribe(
                    (form.get("callback_url") or [""])[0].strip(),
                    (form.get("verify_token") or [""])[0].strip(),
                )
                notice = f"<p><strong>{escape(problem)}</strong></p>" if problem else ""
                self._answer(400 if problem else 200, app._page(notice))

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
