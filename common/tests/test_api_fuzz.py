"""Property-based fuzzing of the whole JSON API against its own OpenAPI schema (schemathesis).

Every operation of the schema gets generated requests, sent through the real WSGI stack,
authenticated as an owner and as a plain member. Every response must be non-5xx, carry a status
code the schema documents for that operation, and have a body that matches the schema.

- Each example runs inside a savepoint that is rolled back, and with an empty cache, so every
  example starts from the same organization (configured AI and WhatsApp settings, one sent
  message, pending invitations) and throttles never carry over between examples.
- Generated values are sometimes swapped for known-good ones (a real member id, the user's own
  credentials, a valid provider key) so the success paths are fuzzed too, not only refusals.
- AI providers and the Graph API are the local fakes. Any other address is refused at the
  socket level while the fuzzer runs: a generated custom base URL can never reach the network.

Checks: not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance. Not negative_data_rejection / positive_data_acceptance: the steering
above turns some generated-invalid requests valid (and the reverse), and business rules the
schema cannot express (a token that must exist) refuse schema-valid input by design.

FUZZ_EXAMPLES (default 25) sets the examples per operation and role. The run is derandomized so
CI is reproducible; FUZZ_RANDOM=1 explores new inputs each run.
"""

import errno
import ipaddress
import json
import os
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aiconfig import services as ai_services
from conftest import PASSWORD
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from messaging import services as message_services
from organizations import services as org_services
from organizations.models import Membership, Role
from organizations.tokens import AccountRefreshToken as RefreshToken
from whatsapp import services as wa_services

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"


def _load_schema():
    """The schema /api/schema/ serves, generated in-process (no request, no database)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = WSGIHandler()  # requests go through the whole middleware stack
    loaded.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    loaded.config.generation.update(
        modes=["positive", "negative"], max_examples=EXAMPLES, database="none"
    )
    return loaded


schema = _load_schema()

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# --- no network ----------------------------------------------------------------------------------

_guard_active = False
_guard_installed = False
_blocked: list = []


def _is_loopback(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _network_guard(event, args):
    if not _guard_active:
        return
    if event == "socket.getaddrinfo" and not _is_loopback(args[0]):
        _blocked.append(("dns", args[0]))
        raise socket.gaierror(socket.EAI_NONAME, "network disabled by the fuzz test")
    if event == "socket.connect" and isinstance(args[1], tuple) and not _is_loopback(args[1][0]):
        _blocked.append(("connect", args[1][0]))
        raise ConnectionRefusedError(errno.ECONNREFUSED, "network disabled by the fuzz test")


@pytest.fixture
def no_network():
    """Refuses every DNS lookup and connection that is not to this machine's loopback.
    (Audit hooks cannot be removed: one is installed once and acts only while this runs.)"""
    global _guard_active, _guard_installed
    if not _guard_installed:
        sys.addaudithook(_network_guard)
        _guard_installed = True
    _blocked.clear()
    _guard_active = True
    yield _blocked
    _guard_active = False


@pytest.fixture
def wsgi_in_test_transaction():
    """Like Django's test client: a request must not close the test's database connection
    (it would end the transaction every example is rolled back in)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# --- the world every example starts from ---------------------------------------------------------


@pytest.fixture
def world(team, fake_providers, fake_graph, no_network, wsgi_in_test_transaction):
    for name in dir(django_settings):
        value = getattr(django_settings, name) if name.endswith("_BASE_URL") else None
        if value:  # an empty base URL is not used (PLATFORM_AI_BASE_URL without a custom key)
            assert value.startswith("http://127.0.0.1:"), f"{name} is not a local fake: {value}"
    owner = team.membership(team.owner)
    ai_services.ai_config_save(membership=owner, provider="openai", api_key=VALID_KEYS["openai"])
    wa_services.whatsapp_config_save(
        membership=owner,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=VALID_TOKEN,
    )
    message_services.message_send(membership=owner, to="15551234567", text="Welcome!")
    # Invitations from the other organization, so "accept" can succeed for either role.
    outsider = Membership.objects.get(user=team.outsider)
    invitations = {}
    for user in (team.owner, team.member):
        _, token = org_services.invitation_create(
            actor=outsider, email=user.email, role=Role.MEMBER
        )
        invitations[user.pk] = token
    return {
        "team": team,
        "member_ids": list(Membership.objects.values_list("pk", flat=True)),
        "custom_base_url": fake_providers.base_urls()["CUSTOM_BASE_URL"],
        "invitations": invitations,
    }


def _known_values(world, user, body: dict) -> dict:
    """Values the fuzzer cannot guess, by body property name."""
    provider = body.get("provider")
    return {
        "email": user.email,
        "password": PASSWORD,
        "refresh": str(RefreshToken.for_user(user)),
        "token": world["invitations"][user.pk],
        "api_key": VALID_KEYS.get(provider) if isinstance(provider, str) else None,
        # The custom provider's server: a private address, so the SSRF guard refuses it.
        "base_url": world["custom_base_url"] if provider == "custom" else None,
        "model": None,
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": WABA_ID,
        "access_token": VALID_TOKEN,
        "to": "+15551234567",
    }


def _steer(case, data, world, user) -> None:
    """Swap generated values for known-good ones in some examples, so success paths are
    fuzzed too: "as generated", "known" (every value the fuzzer cannot guess replaced) or
    "mixed" (each one by a coin toss). Hypothesis draws which, so failures still shrink."""
    mode = data.draw(st.sampled_from(["as generated", "known", "mixed"]), label="steering")
    if mode == "as generated":
        return

    def use_known(name):
        return mode == "known" or data.draw(st.booleans(), label=f"known {name}")

    if isinstance(case.body, dict):
        known = _known_values(world, user, case.body)
        if "provider" in case.body and mode == "known":
            # An AI key test or save: the key and base URL that go with the provider.
            case.body.update(api_key=known["api_key"], base_url=known["base_url"])
        for name, value in known.items():
            if name in case.body and use_known(name):
                case.body[name] = value
    if "member_id" in (case.path_parameters or {}) and use_known("member_id"):
        case.path_parameters["member_id"] = str(
            data.draw(st.sampled_from(world["member_ids"]), label="member_id")
        )
    if use_known("X-Organization"):
        headers = dict(case.headers or {})
        slug = data.draw(st.sampled_from([None, "grace-church", "hope-chapel"]), label="slug")
        if slug is None:
            headers.pop("X-Organization", None)
        else:
            headers["X-Organization"] = slug
        case.headers = headers


def _fuzz(case, data, world, user) -> None:
    _steer(case, data, world, user)
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    cache.clear()  # throttle counters: every example starts with none
    with transaction.atomic():
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        finally:
            transaction.set_rollback(True)


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
@schema.given(data=st.data())
def test_it_answers_the_owner_within_the_contract(case, data, world):
    _fuzz(case, data, world, world["team"].owner)


@schema.parametrize()
@FUZZ_SETTINGS
@schema.given(data=st.data())
def test_it_answers_a_member_within_the_contract(case, data, world):
    _fuzz(case, data, world, world["team"].member)


def test_it_refuses_the_network_while_fuzzing(no_network):
    # The guard itself: a public address is refused before any packet leaves.
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 443)
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 443))
    assert ("dns", "example.org") in no_network and ("connect", "192.0.2.1") in no_network


# --- inputs the generator does not reach -----------------------------------------------------

DEEPLY_NESTED = ("[" * 50_000 + "]" * 50_000, '{"a":' * 50_000 + "1" + "}" * 50_000)
BODY_OPERATIONS = [
    (method, path)
    for path, item in schema.raw_schema["paths"].items()
    for method in item
    if method in ("post", "put", "patch")
    # A JSON body to an upload (multipart) endpoint is answered 415 before any parsing.
    and "application/json" in item[method].get("requestBody", {}).get("content", {})
]


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_it_answers_deeply_nested_json_with_a_400(team, api, method, path):
    client = api(team.owner)
    path = path.replace("{member_id}", str(team.membership(team.member).pk))
    path = path.replace("{invitation_id}", "1")
    for body in DEEPLY_NESTED:
        response = getattr(client, method)(path, body, content_type="application/json")
        assert response.status_code == 400, (method, path, response.status_code)
        assert response.json()["error_code"] == "parse_error"


class _DeeplyNestedAnswers(BaseHTTPRequestHandler):
    """A provider that answers every request with valid but absurdly deep JSON."""

    def _answer(self):
        body = DEEPLY_NESTED[0].encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def deeply_nested_provider(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DeeplyNestedAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True  # the server is on this machine
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_it_classifies_a_provider_answering_deeply_nested_json(team, api, deeply_nested_provider):
    response = api(team.owner).post(
        "/api/settings/ai-config/test",
        {"provider": "custom", "api_key": VALID_KEYS["custom"], "base_url": deeply_nested_provider},
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["success"] is False
    assert response.json()["error_code"] == "invalid_response"


# --- characters no generator favours ---------------------------------------------------------

POISON = [
    "\ud800",  # a lone surrogate (JSON "\ud800")
    "\udfff\ud800",  # a reversed pair
    "a\x00b",  # NUL
    "Grace\nChurch\r\n",  # line breaks
    "\x1b[31mred\x07",  # terminal escapes, bell
    "A\u2028B\u2029",  # Unicode line and paragraph separators
    "\u202eevil",  # right-to-left override
    "x" * 100_000,  # far past any limit
]


def _request_properties(operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    body = content.get("schema", {})
    if "$ref" in body:
        body = schema.raw_schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return list(body.get("properties", {}))


BODY_PROPERTIES = [
    (method, path, name)
    for path, item in schema.raw_schema["paths"].items()
    for method, operation in item.items()
    if method in ("post", "put", "patch")
    for name in _request_properties(operation)
]


def _poison_path(path: str, member_pk: int) -> str:
    return re.sub(r"\{[^}]+\}", "1", path.replace("{member_id}", str(member_pk)))


@pytest.mark.parametrize(("method", "path", "name"), BODY_PROPERTIES)
def test_it_answers_poisoned_strings_in_every_body_field_without_a_500(
    team, api, fake_providers, fake_graph, no_network, method, path, name
):
    """Each value alone in each field, and all fields at once; as an owner. Never a 5xx,
    always JSON, and an error never repeats more than a short prefix of the input."""
    client = api(team.owner)
    url = _poison_path(path, team.membership(team.member).pk)
    for value in POISON:
        cache.clear()
        body = json.dumps({name: value})
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code < 500, (method, path, name, repr(value[:20]))
        assert response["Content-Type"].startswith("application/json")
        assert len(response.content) < 20_000, (method, path, name)


PATHS = [
    path for path, item in schema.raw_schema["paths"].items() if "get" in item or "delete" in item
]
PATH_POISON = ["%00", "%ED%A0%80", "%0A", "%1B", "%E2%80%A8", "x" * 5000, "%FF%FE"]


@pytest.mark.parametrize("path", PATHS)
def test_it_answers_poisoned_path_segments_and_queries_without_a_500(team, api, path):
    client = api(team.owner)
    for value in PATH_POISON:
        url = re.sub(r"\{[^}]+\}", value, path)
        for target in (url, f"{path.split('{')[0]}?q={value}&page={value}"):
            for method in ("get", "delete"):
                response = getattr(client, method)(target)
                assert response.status_code < 500, (method, target[:80], response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/whatsapp/{}/",
        "/invitations/{}/",
        "/accounts/login/?next={}",
        "/settings/?x={}",
        "/messages/?page={}",
        "/organization/activity/?page={}",
    ],
)
def test_it_answers_poisoned_page_urls_without_a_500(team, path):
    from django.test import Client

    client = Client()
    client.force_login(team.owner)
    for value in PATH_POISON:
        response = client.get(path.format(value))
        assert response.status_code < 500, (path, value, response.status_code)
