"""Production serving: hashed and compressed static files through whitenoise, the gunicorn
configuration (really started), and throttling state shared across processes through Redis."""

import gzip
import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.test import override_settings

from conftest import api_client
from devtools.fakes.providers import VALID_KEYS

BASE_DIR = Path(__file__).resolve().parents[2]
TEST_URL = "/api/settings/ai-config/test"
PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


# --- static files ----------------------------------------------------------------------------


def wsgi_get(app, path: str, **headers) -> tuple[str, dict[str, str], bytes]:
    """One GET through a WSGI application, as a WSGI server would make it."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "127.0.0.1"}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, dict(response_headers)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started["status"], started["headers"], body


@pytest.fixture(scope="module")
def _collected_static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=PRODUCTION_STORAGES):
        call_command("collectstatic", "--noinput", verbosity=0)
    return root


@pytest.fixture
def collected_static(_collected_static_root, db):
    """collectstatic with the production storage into a fresh STATIC_ROOT (once for the
    module), and the production storage serving from it."""
    with override_settings(STATIC_ROOT=_collected_static_root, STORAGES=PRODUCTION_STORAGES):
        yield _collected_static_root


def test_it_collects_hashed_and_compressed_static_files(collected_static):
    hashed = list((collected_static / "css").glob("app.*.css"))
    assert len(hashed) == 1 and re.fullmatch(r"app\.[0-9a-f]{12}\.css", hashed[0].name)
    assert (collected_static / "css" / (hashed[0].name + ".gz")).is_file()
    assert (collected_static / "staticfiles.json").is_file()


def test_it_serves_hashed_static_files_through_the_wsgi_app_with_long_cache_headers(
    collected_static,
):
    name = next((collected_static / "css").glob("app.*.css")).name
    app = get_wsgi_application()  # a fresh app: whitenoise indexes STATIC_ROOT at start

    status, headers, body = wsgi_get(app, f"/static/css/{name}")
    assert status.startswith("200")
    assert body == (BASE_DIR / "static" / "css" / "app.css").read_bytes()
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in headers["Cache-Control"]
    assert "immutable" in headers["Cache-Control"]

    status, headers, body = wsgi_get(app, f"/static/css/{name}", accept_encoding="gzip")
    assert status.startswith("200") and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (BASE_DIR / "static" / "css" / "app.css").read_bytes()

    # The unhashed name is still served, but must not be cached for long.
    status, headers, _ = wsgi_get(app, "/static/css/app.css")
    assert status.startswith("200")
    assert "immutable" not in headers["Cache-Control"]


def test_it_links_pages_to_the_hashed_static_files(collected_static, client):
    name = next((collected_static / "css").glob("app.*.css")).name
    html = client.get("/accounts/login/").content.decode()
    assert f"/static/css/{name}" in html
    assert 'href="/static/css/app.css"' not in html


# --- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_config(**env) -> dict:
    """gunicorn.conf.py's values under `env`, read the way gunicorn reads them."""
    code = (
        "import json, sys\n"
        "from gunicorn.app.wsgiapp import WSGIApplication\n"
        "sys.argv = ['gunicorn', '-c', 'gunicorn.conf.py', 'config.wsgi']\n"
        "cfg = WSGIApplication('%(prog)s [OPTIONS] [APP_MODULE]').cfg\n"
        "names = ('bind', 'workers', 'threads', 'worker_class_str', 'timeout',\n"
        "         'graceful_timeout', 'forwarded_allow_ips', 'accesslog')\n"
        "print(json.dumps({n: getattr(cfg, n) for n in names}))\n"
    )
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_configures_gunicorn_from_the_environment():
    config = gunicorn_config(
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="12",
        GUNICORN_BIND="127.0.0.1:9001",
        FORWARDED_ALLOW_IPS="10.0.0.1",
        AI_PROVIDER_TIMEOUT="45",
    )
    assert config["worker_class_str"] == "gthread"
    assert (config["workers"], config["threads"]) == (3, 12)
    assert config["bind"] == ["127.0.0.1:9001"]
    assert config["forwarded_allow_ips"] == ["10.0.0.1"]
    # Longer than the slowest outbound call, so a slow provider never gets a worker killed.
    assert config["timeout"] > 45


def test_it_has_sensible_gunicorn_defaults():
    config = gunicorn_config(PORT="5000")
    assert config["worker_class_str"] == "gthread"
    assert config["bind"] == ["0.0.0.0:5000"]
    assert 3 <= config["workers"] <= 8
    assert config["threads"] == 8
    assert config["timeout"] >= 60 > django_settings.AI_PROVIDER_TIMEOUT
    assert config["accesslog"] == "-"


class Gunicorn:
    """gunicorn with gunicorn.conf.py and production settings on a loopback port."""

    def __init__(self, tmp_path: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="false",
            SECRET_KEY="gunicorn-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            CRYPTOGRAPHY_KEY="gunicorn-test-cryptography-key-0123456789",
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            CACHE_URL="locmemcache://",
            STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="1",
            GUNICORN_THREADS="2",
        )
        self.log = tmp_path / "gunicorn.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + "/healthz", timeout=2)
                return
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("gunicorn did not start:\n" + self.stop()) from None
                time.sleep(0.2)

    def stop(self) -> str:
        """Stops gunicorn (gracefully, as a deploy would) and returns everything it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.log.read_text()


def test_it_keeps_secrets_out_of_the_access_log_even_with_a_wider_format():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    conf = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
    logger = conf["RedactingLogger"](Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/invitations/tok-Secret/?hub.verify_token=vt-Secret",
        "PATH_INFO": "/invitations/tok-Secret/",
        "QUERY_STRING": "hub.verify_token=vt-Secret",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": "Bearer jwt-Secret",
        "HTTP_COOKIE": "sessionid=cookie-Secret",
        "HTTP_REFERER": "https://example.org/?token=ref-Secret",
    }
    request = SimpleNamespace(
        headers=[("AUTHORIZATION", "Bearer jwt-Secret"), ("COOKIE", "sessionid=cookie-Secret")]
    )
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    wide = (
        "%(r)s %(U)s %(q)s %(u)s %(f)s %({authorization}i)s %({cookie}i)s "
        "%({http_authorization}e)s %({http_cookie}e)s %({query_string}e)s %({raw_uri}e)s"
    )
    line = wide % atoms
    assert "Secret" not in line
    assert "/invitations/[redacted]/" in line


@pytest.fixture
def gunicorn(tmp_path):
    server = Gunicorn(tmp_path)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def test_it_serves_with_gunicorn_threads_and_logs_no_secrets(gunicorn):
    verify_token = "verify-token-Secret-0123456789"
    invitation_token = "invitation-token-Secret-9876543210"
    bearer = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SecretSignature0123"
    url = gunicorn.url

    health = requests.get(url + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # Everything else is sent to HTTPS by the production settings.
    login = requests.get(url + "/accounts/login/", allow_redirects=False, timeout=10)
    assert login.status_code == 301 and login.headers["Location"].startswith("https://")
    requests.get(
        url + f"/webhooks/whatsapp/abc/?hub.mode=subscribe&hub.verify_token={verify_token}",
        headers={"Authorization": f"Bearer {bearer}", "Referer": f"{url}/?t={verify_token}"},
        allow_redirects=False,
        timeout=10,
    )
    requests.get(url + f"/invitations/{invitation_token}/", allow_redirects=False, timeout=10)

    output = gunicorn.stop()
    assert "Using worker: gthread" in output
    assert '"GET /healthz HTTP/1.1" 200' in output
    assert '"GET /webhooks/whatsapp/abc/ HTTP/1.1"' in output
    assert '"GET /invitations/[redacted]/ HTTP/1.1"' in output
    for secret in (verify_token, invitation_token, bearer, "Secret"):
        assert secret not in output


# --- throttling across processes -------------------------------------------------------------

# Run by another interpreter: spends key-test budget through the view's own throttles, with
# the same settings, as another app server handling requests for the same user and org would.
SPEND_BUDGET = """
import sys, django
django.setup()
from types import SimpleNamespace
from settings_page.api import API_VIEWS
user_pk, org_pk, count = (int(a) for a in sys.argv[1:4])
view = API_VIEWS["ai"].test()
request = SimpleNamespace(
    method="POST",
    user=SimpleNamespace(pk=user_pk, is_authenticated=True),
    _api_membership=SimpleNamespace(user_id=user_pk, organization_id=org_pk),
    META={"REMOTE_ADDR": "127.0.0.2"},
)
allowed = 0
for _ in range(count):
    throttles = [throttle() for throttle in view.throttle_classes]
    if all([t.allow_request(request, view) for t in throttles]):
        allowed += 1
print(allowed)
"""


@pytest.mark.skipif(
    not os.environ.get("CACHE_URL", "").startswith("redis://"),
    reason="needs CACHE_URL=redis://…: a local-memory cache is not shared between processes",
)
def test_it_holds_the_key_test_throttle_across_processes(team, fake_providers, settings):
    settings.AI_KEY_TEST_RATE = "4/min"
    # Another process (as another app server would) runs 3 key tests for the organization,
    # as its admin.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    env["AI_KEY_TEST_RATE"] = "4/min"
    result = subprocess.run(
        [sys.executable, "-c", SPEND_BUDGET, str(team.admin.pk), str(team.org.pk), "3"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "3"

    # Here, the owner has spent none of their own budget, but the organization has 1 left.
    client = api_client(team.owner)
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    first = client.post(TEST_URL, payload, format="json")
    assert first.status_code == 200 and first.json()["success"] is True
    second = client.post(TEST_URL, payload, format="json")
    assert second.status_code == 429
    assert second.json()["error_code"] == "throttled"
    # The other process's user budget is shared too: the admin has 1 test left, not 4.
    assert api_client(team.admin).post(TEST_URL, payload, format="json").status_code == 429


def test_it_keeps_connections_alive_under_gunicorn(gunicorn):
    """Connections are reused (keep-alive): gunicorn's gthread keeps none alive when
    worker_connections equals the threads, and then answers every request with close."""
    import http.client

    host, port = gunicorn.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection", "").lower() != "close"
            sock = connection.sock
            assert sock is not None  # still open: the next request goes over the same one
    finally:
        connection.close()
