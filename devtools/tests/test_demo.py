"""`make demo` starts, serves, and the keys, ids and numbers it prints do what it says."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from devtools import demo
from devtools.fakes import graph
from devtools.fakes.meta_app import APP_SECRET
from devtools.fakes.providers import VALID_KEYS

ROOT = Path(__file__).resolve().parents[2]
GRAPH_LATENCY_MS = 150  # the running demo's fake Graph API answers this late


def _free_port_series(count: int) -> int:
    """A port whose next `count - 1` ports are free too (the demo's fakes use them)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports")


@pytest.fixture(scope="module")
def running_demo(tmp_path_factory):
    port = _free_port_series(1 + len(demo.DEMO_FAKES))
    data_dir = tmp_path_factory.mktemp("demo")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "HUEY_IMMEDIATE")
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "devtools.demo", "--port", str(port)),
            *("--data-dir", str(data_dir), "--graph-latency-ms", str(GRAPH_LATENCY_MS)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl+C stops the demo."):
                break
        output = "".join(lines)
        assert "Ctrl+C stops the demo." in output, output
        yield f"http://127.0.0.1:{port}", output, data_dir
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0


def call(url, method="GET", body=None, token=None):
    request = urllib.request.Request(url, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local demo
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


@pytest.fixture(scope="module")
def owner_token(running_demo):
    url, _, _ = running_demo
    status, body = call(
        url + "/api/auth/register",
        "POST",
        {
            "email": "demo@grace.test",
            "password": "Sturdy-Passw0rd-for-the-demo",
            "organization_name": "Grace Church",
        },
    )
    assert status == 201, body
    return body["access"]


def test_it_serves_the_pages_on_its_own_database(running_demo):
    url, output, data_dir = running_demo
    status, page = call(url + "/accounts/login/")
    assert status == 200 and "Log in" in page
    assert (data_dir / "demo.sqlite3").is_file()
    assert url in output


def test_it_prints_provider_keys_that_work_against_the_fakes(running_demo, owner_token):
    url, output, _ = running_demo
    for provider in ("openai", "anthropic", "gemini"):
        assert VALID_KEYS[provider] in output
        status, body = call(
            url + "/api/settings/ai-config/test",
            "POST",
            {"provider": provider, "api_key": VALID_KEYS[provider]},
            owner_token,
        )
        assert status == 200 and body["success"] is True, body


def test_it_prints_provider_keys_that_fail_with_a_clear_error(running_demo, owner_token):
    url, output, _ = running_demo
    for key, expected in (
        ("demo-no-credit-key-000000000000000000000000000000000000000000000", "insufficient_quota"),
        ("demo-rate-limited-key-000000000000000000000000000000000000000000", "rate_limited"),
        ("some-key-nobody-issued", "invalid_api_key"),
    ):
        assert key in output or key == "some-key-nobody-issued"
        status, body = call(
            url + "/api/settings/ai-config/test",
            "POST",
            {"provider": "openai", "api_key": key},
            owner_token,
        )
        assert body["success"] is False and body["error_code"] == expected, body


def test_it_lets_a_newcomer_save_draft_and_send(running_demo, owner_token):
    url, output, _ = running_demo
    status, body = call(
        url + "/api/settings/ai-config",
        "PUT",
        {"provider": "groq", "api_key": VALID_KEYS["groq"]},
        owner_token,
    )
    assert status == 200, body
    for value in (graph.PHONE_NUMBER_ID, graph.WABA_ID, graph.VALID_TOKEN):
        assert value in output
    credentials = {
        "phone_number_id": graph.PHONE_NUMBER_ID,
        "business_account_id": graph.WABA_ID,
        "access_token": graph.VALID_TOKEN,
    }
    status, body = call(url + "/api/settings/whatsapp-meta", "PUT", credentials, owner_token)
    assert status == 200, body

    status, body = call(
        url + "/api/messages/generate", "POST", {"prompt": "Sunday at 10"}, owner_token
    )
    assert status == 200 and body["text"] == "OK", body
    assert demo.WORKING_RECIPIENT in output
    to = demo.WORKING_RECIPIENT.replace(" ", "")
    status, body = call(url + "/api/messages/send", "POST", {"to": to, "text": "Hi"}, owner_token)
    assert status == 200 and body["success"] is True, body

    failing = next(iter(demo.FAILING_RECIPIENTS))
    assert failing in output
    to = failing.replace(" ", "")
    status, body = call(url + "/api/messages/send", "POST", {"to": to, "text": "Hi"}, owner_token)
    assert status != 200 and body["error_code"] == "recipient_not_allowed", body


def test_it_says_which_port_is_taken(tmp_path):
    port = _free_port_series(3)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port + 2))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "devtools.demo", "--port", str(port), "--data-dir", tmp_path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Port {port + 2} is taken" in result.stderr
    assert not (tmp_path / "demo.sqlite3").exists()


def connect_whatsapp(url, owner_token):
    """Stores the demo's working WhatsApp credentials with the fake Meta app's secret."""
    credentials = {
        "phone_number_id": graph.PHONE_NUMBER_ID,
        "business_account_id": graph.WABA_ID,
        "access_token": graph.VALID_TOKEN,
        "app_secret": APP_SECRET,
    }
    status, body = call(url + "/api/settings/whatsapp-meta", "PUT", credentials, owner_token)
    assert status == 200, body
    status, stored = call(url + "/api/settings/whatsapp-meta", token=owner_token)
    return stored


def meta_app_url(output):
    return re.search(r"Open the fake Meta app at (http://127\.0\.0\.1:\d+)/", output).group(1)


def post_form(page_url, **fields):
    """Submits one of the fake Meta app's forms; (HTTP status, page)."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(page_url + "/", data=data, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def eventually(fetch, until, timeout=20.0):
    """Calls fetch until until(its answer) holds, and returns that answer (the demo's task
    consumer runs what the app queued a moment later)."""
    deadline = time.monotonic() + timeout
    while not until(found := fetch()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert until(found), found
    return found


def test_it_reports_deliveries_once_the_fake_meta_app_knows_the_webhook(running_demo, owner_token):
    url, output, _ = running_demo
    assert APP_SECRET in output
    stored = connect_whatsapp(url, owner_token)
    meta_app = meta_app_url(output)
    form = urllib.parse.urlencode(
        {"callback_url": stored["webhook_url"], "verify_token": "not-the-token"}
    ).encode()
    refused = urllib.request.Request(meta_app + "/", data=form, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(refused, timeout=10)  # noqa: S310 - local demo
    assert b"couldn&#x27;t be validated" in caught.value.read()
    form = urllib.parse.urlencode(
        {"callback_url": stored["webhook_url"], "verify_token": stored["webhook_verify_token"]}
    ).encode()
    with urllib.request.urlopen(meta_app + "/", data=form, timeout=10) as answer:  # noqa: S310
        assert b"Subscribed:" in answer.read()

    to = demo.WORKING_RECIPIENT.replace(" ", "")
    status, sent = call(url + "/api/messages/send", "POST", {"to": to, "text": "Hi"}, owner_token)
    assert status == 200, sent
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, history = call(url + "/api/messages", token=owner_token)
        record = next(m for m in history["results"] if m["message_id"] == sent["message_id"])
        if record["status"] == "read":
            break
        time.sleep(0.5)
    assert record["status"] == "read", record


def subscribe_meta_app(url, output, owner_token):
    """Connects WhatsApp and subscribes the fake Meta app to the webhook; returns its page."""
    stored = connect_whatsapp(url, owner_token)
    meta_app = meta_app_url(output)
    status, page = post_form(
        meta_app, callback_url=stored["webhook_url"], verify_token=stored["webhook_verify_token"]
    )
    assert status == 200, page
    return meta_app


def test_it_opts_out_a_contact_who_answers_stop_on_the_fake_meta_apps_page(
    running_demo, owner_token
):
    url, output, _ = running_demo
    meta_app = subscribe_meta_app(url, output, owner_token)
    status, contact = call(
        url + "/api/contacts",
        "POST",
        {"name": "Ana Souza", "phone": "+16505550142", "opted_in": True},
        owner_token,
    )
    assert status == 201 and contact["opted_out_at"] is None, contact
    contact_url = f"{url}/api/contacts/{contact['id']}"

    status, page = post_form(meta_app, action="inbound", text="STOP", **{"from": "not a number"})
    assert status == 400 and "country code" in page
    status, page = post_form(
        meta_app, action="inbound", name="Ana", text="STOP", **{"from": "+1 650 555 0142"}
    )
    assert status == 200 and "the app answered 200" in page, page

    contact = eventually(
        lambda: call(contact_url, token=owner_token)[1], lambda c: c["opted_out_at"]
    )
    assert contact["opt_out_reason"].startswith("Replied"), contact

    post_form(meta_app, action="inbound", text="START", **{"from": "16505550142"})
    eventually(lambda: call(contact_url, token=owner_token)[1], lambda c: not c["opted_out_at"])


def test_it_changes_a_templates_status_from_the_fake_meta_apps_page(running_demo, owner_token):
    url, output, _ = running_demo
    meta_app = subscribe_meta_app(url, output, owner_token)

    def status_at_app():
        _, templates = call(url + "/api/whatsapp/templates", token=owner_token)
        return next((t["status"] for t in templates if t["name"] == "sunday_service"), None)

    # The templates reach the app through a task its consumer runs.
    status, body = call(url + "/api/whatsapp/templates/sync", "POST", {}, owner_token)
    assert status == 202, body
    eventually(status_at_app, lambda found: found == "APPROVED")
    status, page = post_form(
        meta_app, action="template", template="sunday_service:en_US", status="PAUSED"
    )
    assert status == 200 and "the app answered 200" in page, page
    assert "sunday_service (en_US): PAUSED" in page  # the fake Graph API's own list agrees
    eventually(status_at_app, lambda found: found == "PAUSED")


def test_it_flags_the_number_from_the_fake_meta_apps_page_and_checks_it_in_its_consumer(
    running_demo, owner_token
):
    url, output, _ = running_demo
    meta_app = subscribe_meta_app(url, output, owner_token)
    settings_url = url + "/api/settings/whatsapp-meta"

    def check_now():
        """Check now queues the checks; the demo's consumer runs them against the fakes."""
        before = call(settings_url, token=owner_token)[1]["health"]["last_checked_at"]
        status, body = call(url + "/api/settings/health/check", "POST", {}, owner_token)
        assert status == 202, body
        return eventually(
            lambda: call(settings_url, token=owner_token)[1],
            lambda stored: stored["health"]["last_checked_at"] != before,
        )

    status, page = post_form(meta_app, action="quality", event="FLAGGED")
    assert status == 200 and "the app answered 200" in page, page
    _, stored = call(settings_url, token=owner_token)
    assert stored["number_status"] == "FLAGGED", stored
    assert stored["health"]["status"] == "needs_attention", stored
    stored = check_now()  # the fake Graph API's number was flagged too
    assert stored["quality_rating"] == "RED", stored
    assert stored["health"]["status"] == "needs_attention", stored

    assert post_form(meta_app, action="quality", event="UNFLAGGED")[0] == 200
    stored = check_now()
    assert stored["number_status"] == "CONNECTED" and stored["quality_rating"] == "GREEN", stored
    assert stored["health"]["status"] == "ok", stored


def test_it_makes_the_fake_graph_api_as_slow_as_asked(running_demo, owner_token):
    url, output, _ = running_demo
    assert f"answers {GRAPH_LATENCY_MS} ms late" in output
    connect_whatsapp(url, owner_token)
    to = demo.WORKING_RECIPIENT.replace(" ", "")
    started = time.monotonic()
    status, body = call(url + "/api/messages/send", "POST", {"to": to, "text": "Hi"}, owner_token)
    assert status == 200, body
    assert time.monotonic() - started >= GRAPH_LATENCY_MS / 1000


def test_it_refuses_a_negative_graph_latency(capsys):
    with pytest.raises(SystemExit):
        demo.main(["--graph-latency-ms", "-5"])
    assert "milliseconds" in capsys.readouterr().err
