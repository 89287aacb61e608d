"""common.http: the SSRF guard, the total deadline, redirects, sizes and logging."""

import datetime
import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests.adapters
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from common.http import OutboundError, check_url, send
from devtools.fakes.providers import VALID_KEYS

PUBLIC_IP = "93.184.215.14"  # a public address; connections to it are refused by the test


@pytest.fixture(autouse=True)
def _strict(settings):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = False


def fake_dns(monkeypatch, answers):
    """Make socket.getaddrinfo answer `answers[name]` (a list of IPs, or a callable giving
    one per lookup) for the given names; other names go to the real resolver."""
    real = socket.getaddrinfo
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            ips = answers[host]
            ips = ips() if callable(ips) else ips
            infos = []
            for ip in ips:
                family = socket.AF_INET6 if ":" in ip else socket.AF_INET
                sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
                infos.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return infos
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# --- the guard ------------------------------------------------------------------------

BLOCKED_HOSTS = [
    "127.0.0.1",
    "127.0.0.1.",
    "0x7f000001",
    "127.1",
    "2130706433",
    "0177.0.0.1",
    "017700000001",
    "0x7f.0x0.0x0.0x1",
    "127.000.000.001",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:7f00:1::]",  # 6to4
    "[64:ff9b::7f00:1]",  # NAT64
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
    "[::ffff:a9fe:a9fe]",
    "[::1]",
    "[::]",
    "0.0.0.0",
    "0",
    "localhost",
    "LOCALHOST",
    "app.localhost",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "[ff02::1]",
]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_it_blocks_local_and_private_addresses_without_connecting(host, listener, connect_attempts):
    url = f"http://{host}:{listener.port}/v1/models"
    with pytest.raises(OutboundError) as checked:
        check_url(url)
    with pytest.raises(OutboundError) as sent:
        send("GET", url, timeout=2, guard=True)
    assert checked.value.code == "blocked_address"
    assert sent.value.code == "blocked_address"
    assert connect_attempts.targets == []
    assert listener.accepted() == 0


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/models",
        "file:///etc/passwd",
        "gopher://example.com/",
        "example.com/v1",
        "http:///v1",
        "http://user:pw-s3cr3t@example.com/v1",
        "http://user@example.com/v1",
        "https://:secret@example.com/v1",
        "http://example.com:99999/",
    ],
)
def test_it_blocks_bad_schemes_credentials_and_malformed_urls(url, monkeypatch, connect_attempts):
    lookups = fake_dns(monkeypatch, {"example.com": [PUBLIC_IP]})
    with pytest.raises(OutboundError) as checked:
        check_url(url)
    with pytest.raises(OutboundError) as sent:
        send("GET", url, timeout=2, guard=True)
    assert checked.value.code == sent.value.code == "blocked_address"
    assert "s3cr3t" not in sent.value.message and "secret" not in sent.value.message
    assert lookups == []
    assert connect_attempts.targets == []


@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], [PUBLIC_IP, "127.0.0.1"], ["fd12:3456::1"], [PUBLIC_IP, "169.254.169.254"]],
)
def test_it_blocks_a_name_when_any_resolved_address_is_private(
    addresses, monkeypatch, connect_attempts
):
    fake_dns(monkeypatch, {"intranet.example.test": addresses})
    with pytest.raises(OutboundError) as sent:
        send("GET", "http://intranet.example.test/v1/models", timeout=2, guard=True)
    assert sent.value.code == "blocked_address"
    assert connect_attempts.targets == []


def test_it_accepts_a_name_resolving_to_public_addresses(monkeypatch):
    fake_dns(monkeypatch, {"api.example.test": [PUBLIC_IP]})
    assert check_url("https://api.example.test/v1") is None


def test_it_answers_a_name_that_does_not_resolve_like_a_private_one(monkeypatch):
    """Two answers would map which internal names exist."""
    fake_dns(monkeypatch, {"nowhere.example.test": [], "intranet.example.test": ["10.1.2.3"]})
    with pytest.raises(OutboundError) as missing:
        send("GET", "https://nowhere.example.test/v1", timeout=2, guard=True)
    with pytest.raises(OutboundError) as private:
        send("GET", "https://intranet.example.test/v1", timeout=2, guard=True)
    assert missing.value.code == private.value.code == "blocked_address"
    assert missing.value.message.replace("nowhere", "intranet") == private.value.message


def test_it_reports_a_name_that_does_not_resolve_as_unreachable_where_private_is_allowed(
    monkeypatch, settings
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    fake_dns(monkeypatch, {"nowhere.example.test": []})
    with pytest.raises(OutboundError) as checked:
        check_url("https://nowhere.example.test/v1")
    assert checked.value.code == "unreachable"


def test_it_connects_to_the_checked_address_not_a_rebound_one(
    monkeypatch, listener, connect_attempts
):
    answers = iter([[PUBLIC_IP]])
    lookups = fake_dns(monkeypatch, {"rebind.example.test": lambda: next(answers, ["127.0.0.1"])})
    connect_attempts.refuse.add(PUBLIC_IP)  # keep the test off the network
    with pytest.raises(OutboundError) as sent:
        send("GET", f"http://rebind.example.test:{listener.port}/v1", timeout=2, guard=True)
    assert sent.value.code == "unreachable"
    assert connect_attempts.hosts() == [PUBLIC_IP]
    assert lookups == ["rebind.example.test"]  # resolved once, by the check
    assert listener.accepted() == 0


def test_it_keeps_the_host_header_when_connecting_to_the_pinned_address(
    settings, monkeypatch, fake_providers, connect_attempts
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    fake_dns(monkeypatch, {"api.example.test": ["127.0.0.1"]})
    port = fake_providers.url.rsplit(":", 1)[1]
    response = send(
        "GET",
        f"http://api.example.test:{port}/custom/v1/models",
        timeout=2,
        headers={"Authorization": f"Bearer {VALID_KEYS['custom']}"},
        guard=True,
    )
    assert response.status == 200
    assert fake_providers.requests[-1].headers["host"] == f"api.example.test:{port}"
    assert connect_attempts.hosts() == ["127.0.0.1"]


def test_it_lets_the_setting_allow_private_addresses_but_not_other_schemes(
    settings, fake_providers
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    url = f"{fake_providers.url}/custom/v1/models"
    check_url(url)
    headers = {"Authorization": f"Bearer {VALID_KEYS['custom']}"}
    assert send("GET", url, timeout=2, headers=headers, guard=True).status == 200
    with pytest.raises(OutboundError) as sent:
        send("GET", "file:///etc/passwd", timeout=2, guard=True)
    assert sent.value.code == "blocked_address"
    with pytest.raises(OutboundError) as sent:
        send("GET", url.replace("http://", "http://u:p@"), timeout=2, guard=True)
    assert sent.value.code == "blocked_address"


# --- TLS with a pinned address ----------------------------------------------------------


def _certificate(common_name, issuer_name, issuer_key, key, ca=False, san=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate names `cert_name`, signed by a CA that
    requests is made to trust. Records the TLS server names and Host headers it sees."""

    def start(cert_name):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _certificate("Test CA", "Test CA", ca_key, ca_key, ca=True)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(cert_name, "Test CA", ca_key, leaf_key, san=cert_name)
        (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "leaf.key").write_bytes(
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(tmp_path / "ca.pem"))
        seen = {"sni": [], "host": []}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                seen["host"].append(self.headers.get("Host"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
        context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], seen

    servers = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_it_verifies_tls_against_the_original_host_name(
    settings, monkeypatch, tls_server, connect_attempts
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    fake_dns(monkeypatch, {"pinned.example.test": ["127.0.0.1"]})
    port, seen = tls_server("pinned.example.test")
    response = send("GET", f"https://pinned.example.test:{port}/v1", timeout=3, guard=True)
    assert response.status == 200
    assert seen["sni"] == ["pinned.example.test"]
    assert seen["host"] == [f"pinned.example.test:{port}"]
    assert connect_attempts.hosts() == ["127.0.0.1"]


def test_it_refuses_a_certificate_for_another_name_on_the_pinned_address(
    settings, monkeypatch, tls_server
):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    fake_dns(monkeypatch, {"pinned.example.test": ["127.0.0.1"]})
    port, seen = tls_server("other.example.test")
    with pytest.raises(OutboundError) as sent:
        send("GET", f"https://pinned.example.test:{port}/v1", timeout=3, guard=True)
    assert sent.value.code == "unreachable"
    assert seen["host"] == []


# --- send(): deadline, redirects, sizes, errors, logs -----------------------------------


def _openai_url(fake):
    return fake.base_urls()["OPENAI_BASE_URL"] + "/models"


OPENAI_AUTH = {"Authorization": f"Bearer {VALID_KEYS['openai']}"}


def test_it_returns_the_answer_with_case_insensitive_headers(fake_providers):
    response = send("GET", _openai_url(fake_providers), timeout=2, headers=OPENAI_AUTH)
    assert response.status == 200
    assert response.headers["content-type"] == response.headers["Content-Type"]
    assert response.json()["object"] == "list"


def test_it_ends_a_dripping_answer_at_the_total_deadline(fake_providers):
    fake_providers.set_scenario("openai", "drip")
    fake_providers.drip_interval = 0.05  # far below the timeout: only a total deadline ends it
    started = time.monotonic()
    with pytest.raises(OutboundError) as sent:
        send("GET", _openai_url(fake_providers), timeout=0.6, headers=OPENAI_AUTH)
    elapsed = time.monotonic() - started
    assert sent.value.code == "timeout"
    assert 0.5 < elapsed < 1.0


def test_it_ends_dripping_headers_at_the_total_deadline(fake_providers):
    fake_providers.set_scenario("openai", "drip_headers")
    fake_providers.drip_interval = 0.05
    started = time.monotonic()
    with pytest.raises(OutboundError) as sent:
        send("GET", _openai_url(fake_providers), timeout=0.6, headers=OPENAI_AUTH)
    assert sent.value.code == "timeout"
    assert time.monotonic() - started < 1.0


@pytest.mark.slow
def test_it_ends_a_silent_server_at_the_deadline(fake_providers):
    fake_providers.set_scenario("openai", "hang")
    started = time.monotonic()
    with pytest.raises(OutboundError) as sent:
        send("GET", _openai_url(fake_providers), timeout=0.5, headers=OPENAI_AUTH)
    assert sent.value.code == "timeout"
    assert time.monotonic() - started < 0.9


def test_it_does_not_follow_redirects(fake_providers):
    fake_providers.set_scenario("openai", "redirect")
    response = send("GET", _openai_url(fake_providers), timeout=2, headers=OPENAI_AUTH)
    assert response.status == 302
    assert not [r for r in fake_providers.requests if r.path == "/redirected"]


def test_it_refuses_an_answer_larger_than_max_bytes(fake_providers):
    with pytest.raises(OutboundError) as sent:
        send("GET", _openai_url(fake_providers), timeout=2, headers=OPENAI_AUTH, max_bytes=50)
    assert sent.value.code == "invalid_response"


def test_it_raises_invalid_response_for_a_body_that_is_not_json(fake_providers):
    fake_providers.set_scenario("openai", "garbage")
    response = send("GET", _openai_url(fake_providers), timeout=2, headers=OPENAI_AUTH)
    with pytest.raises(OutboundError) as parsed:
        response.json()
    assert parsed.value.code == "invalid_response"


def test_it_reports_a_refused_connection_as_unreachable(closed_port):
    with pytest.raises(OutboundError) as sent:
        send("GET", f"http://127.0.0.1:{closed_port}/v1/models?token=abc", timeout=2)
    assert sent.value.code == "unreachable"
    assert "token" not in str(sent.value)
    assert sent.value.__cause__ is None and sent.value.__context__ is None


def test_it_refuses_a_header_value_with_a_line_break_without_quoting_it(connect_attempts):
    with pytest.raises(ValueError) as raised:
        send(
            "GET",
            "http://127.0.0.1:9/",
            timeout=2,
            headers={"Authorization": "Bearer sk-secret\r\nX-Injected: 1"},
        )
    assert "sk-secret" not in str(raised.value)
    assert connect_attempts.targets == []


def test_it_logs_method_host_and_status_only(fake_providers, caplog):
    caplog.set_level(logging.DEBUG)
    send(
        "GET",
        _openai_url(fake_providers),
        timeout=2,
        headers=OPENAI_AUTH,
        params={"page": "secret-query-value"},
    )
    ours = [r.getMessage() for r in caplog.records if r.name == "common.http"]
    assert len(ours) == 1
    assert ours[0].startswith("GET 127.0.0.1 -> 200")
    assert "secret-query-value" not in ours[0] and "/models" not in ours[0]
    assert VALID_KEYS["openai"] not in caplog.text


# --- the unguarded path (operator-set URLs) ---------------------------------------------


@pytest.fixture
def hung_dns(monkeypatch):
    """socket.getaddrinfo for "slow.example.test" hangs (up to 4 s, until the test ends),
    as a resolver that gets no answer does; other names go to the real resolver."""
    real = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host, *args, **kwargs):
        if host == "slow.example.test":
            release.wait(4)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    release.set()


@pytest.mark.parametrize("guard", [False, True])
def test_it_bounds_a_hung_dns_lookup_by_the_deadline(hung_dns, guard):
    started = time.monotonic()
    with pytest.raises(OutboundError) as sent:
        send("GET", "http://slow.example.test/v1/models", timeout=1, guard=guard)
    assert sent.value.code == "timeout"
    assert time.monotonic() - started < 2


def test_it_lets_an_operator_url_name_localhost_and_loopback(fake_providers):
    # The autouse fixture keeps private addresses closed for the guard; the operator's own
    # URLs (built-in providers, Meta) may still point at a local server.
    port = fake_providers.url.rsplit(":", 1)[1]
    for host in ("localhost", "127.0.0.1"):
        url = f"http://{host}:{port}/openai/v1/models"
        assert send("GET", url, timeout=2, headers=OPENAI_AUTH).status == 200
        assert fake_providers.requests[-1].headers["host"] == f"{host}:{port}"


def test_it_resolves_an_operator_url_once_and_connects_to_that_address(
    monkeypatch, fake_providers, connect_attempts
):
    lookups = fake_dns(monkeypatch, {"api.example.test": ["127.0.0.1"]})
    port = fake_providers.url.rsplit(":", 1)[1]
    url = f"http://api.example.test:{port}/openai/v1/models"
    assert send("GET", url, timeout=2, headers=OPENAI_AUTH).status == 200
    assert lookups == ["api.example.test"]
    assert connect_attempts.hosts() == ["127.0.0.1"]
    assert fake_providers.requests[-1].headers["host"] == f"api.example.test:{port}"


def test_it_keeps_credentials_given_in_an_operator_url(fake_providers):
    url = fake_providers.url.replace("http://", "http://user:pa%20ss@") + "/custom/v1/models"
    send("GET", url, timeout=2)
    # "user:pa ss", base64-encoded: requests' Basic auth from the URL, as before.
    assert fake_providers.requests[-1].headers["authorization"] == "Basic dXNlcjpwYSBzcw=="


def test_it_verifies_tls_against_the_host_name_of_an_operator_url(
    monkeypatch, tls_server, connect_attempts
):
    fake_dns(monkeypatch, {"pinned.example.test": ["127.0.0.1"]})
    port, seen = tls_server("pinned.example.test")
    response = send("GET", f"https://pinned.example.test:{port}/v1", timeout=3)
    assert response.status == 200
    assert seen["sni"] == ["pinned.example.test"]
    assert seen["host"] == [f"pinned.example.test:{port}"]
    assert connect_attempts.hosts() == ["127.0.0.1"]


def test_it_refuses_a_certificate_for_another_name_on_an_operator_url(monkeypatch, tls_server):
    fake_dns(monkeypatch, {"pinned.example.test": ["127.0.0.1"]})
    port, seen = tls_server("other.example.test")
    with pytest.raises(OutboundError) as sent:
        send("GET", f"https://pinned.example.test:{port}/v1", timeout=3)
    assert sent.value.code == "unreachable"
    assert seen["host"] == []
