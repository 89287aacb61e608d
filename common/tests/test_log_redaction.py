"""The log redaction filter: each key and token shape, the filter on every configured handler,
and every error path driven with real-looking secrets while what the handlers write is scanned."""

import io
import logging
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import include, path

from common import http
from common.log_redaction import REDACTED, RedactSecretsFilter, redact
from conftest import api_client
from devtools.fakes.graph import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    NO_PERMISSION_TOKEN,
    PHONE_NUMBER_ID,
    VALID_TOKEN,
    WABA_ID,
)
from devtools.fakes.providers import VALID_KEYS
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

# Shaped like each provider's keys (the fakes refuse them), beside the fakes' valid ones.
WRONG_KEYS = {
    "openai": "sk-proj-WRONGopenaiKEY0123456789abcdefghijWXYZ",
    "gemini": "AIzaSyWRONG-geminiKEY0123456789abcdef_Qq",
    "deepseek": "sk-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
    "groq": "gsk_WRONGgroqKEY0123456789abcdefGHIJKLMNOPQRSTUVW",
    "anthropic": "sk-ant-api03-WRONGanthropicKEY0123456789abcdef-ghijklmnoPqRs",
    "openrouter": "sk-or-v1-fedcba9876543210fedcba9876543210fedcba9876543210fedcWrNg",
}
META_TOKENS = [VALID_TOKEN, EXPIRED_TOKEN, INVALID_TOKEN, NO_PERMISSION_TOKEN]
SHAPED_SECRETS = [
    *WRONG_KEYS.values(),
    *(VALID_KEYS[p] for p in WRONG_KEYS),
    *META_TOKENS,
]
APP_SECRET = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


# --- the shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", SHAPED_SECRETS)
def test_it_redacts_every_provider_key_and_token_shape(secret):
    text = f"refused key {secret}, again: '{secret}'"
    assert redact(text) == f"refused key {REDACTED}, again: '{REDACTED}'"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Authorization: Bearer abc.DEF-123_x", "Authorization: [REDACTED]"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "{'Authorization': '[REDACTED]'}"),
        ("sent with bearer zzzTOKENzzz today", "sent with bearer [REDACTED] today"),
        ("x-goog-api-key: whatever-value", "x-goog-api-key: [REDACTED]"),
        ('{"x-api-key": "whatever-value"}', '{"x-api-key": "[REDACTED]"}'),
        ('{"api_key": "REALLOOKINGmistral0123456789abMsTr"}', '{"api_key": "[REDACTED]"}'),
        ("app_secret=0123abcd password: hunter2", "app_secret=[REDACTED] password: [REDACTED]"),
        (
            "GET /v1beta/models?key=abc123&pageSize=5",
            "GET /v1beta/models?key=[REDACTED]&pageSize=5",
        ),
        (
            "GET /webhooks/whatsapp/x/?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=1",
            "GET /webhooks/whatsapp/x/?hub.mode=subscribe&hub.verify_token=[REDACTED]"
            "&hub.challenge=1",
        ),
        ("Not Found: /invitations/Xy9_aBc-123/", "Not Found: /invitations/[REDACTED]/"),
        ("GET /accounts/reset/MQ/cv1d2e-0123456789abcdef/", "GET /accounts/reset/[REDACTED]/"),
        (
            "refresh eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlMDEy",
            "refresh [REDACTED]",
        ),
    ],
)
def test_it_redacts_credential_headers_fields_and_parameters(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "AI key test failed: provider=openai code=invalid_api_key status=401 (12 ms)",
        "Key ***WXYZ saved for grace-church",
        "POST api.openai.com -> 200 (85 ms)",
        "WhatsApp Graph call failed: invalid_token (status=401 graph_code=190 subcode=None "
        "fbtrace_id=AbCdEf0123456789xyz)",
        "task-queue sk-short gsk_short AIzaShort EAAshort",
        "phone_number_id=277321005464405 waba=102290129340398 model=gpt-4o-mini",
        "Not Found: /accounts/password_reset/done/",
    ],
)
def test_it_leaves_ordinary_log_lines_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("secret", SHAPED_SECRETS[:3] + META_TOKENS[:1])
def test_it_changes_nothing_on_a_second_pass(secret):
    once = redact(f"Authorization: Bearer {secret} x-api-key: {secret} ?key={secret}")
    assert redact(once) == once and secret not in once


def make_record(msg, *args, exc=None, **extra):
    record = logging.LogRecord("test", logging.ERROR, __file__, 1, msg, args, None)
    if exc is not None:
        try:
            raise exc
        except Exception:
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    return record


def test_it_rewrites_the_message_arguments_exception_stack_and_extra_fields():
    key = VALID_KEYS["openai"]
    record = make_record(
        "calling %s with %r",
        "openai",
        {"Authorization": f"Bearer {key}"},
        exc=RuntimeError(f"provider refused {key}"),
        detail=f"key={key}",
    )
    record.stack_info = f"Stack (most recent call last):\n  test_key({key!r})"
    assert RedactSecretsFilter().filter(record) is True
    formatted = logging.Formatter("%(message)s %(detail)s").format(record)
    assert key not in formatted and key not in record.stack_info
    assert "calling openai with {'Authorization': 'Bearer [REDACTED]'}" in formatted
    assert f"RuntimeError: provider refused {REDACTED}" in formatted
    assert "Traceback (most recent call last)" in formatted
    assert record.exc_info is None  # no formatter can render the exception again


def test_it_keeps_a_record_whose_arguments_do_not_fit_its_format():
    key = VALID_KEYS["groq"]
    record = make_record("two %s %s", key)
    assert RedactSecretsFilter().filter(record) is True
    assert key not in record.getMessage() and "two" in record.getMessage()


# --- the configuration ---------------------------------------------------------------------------


def test_it_attaches_the_filter_to_every_configured_handler():
    config = django_settings.LOGGING
    assert config["filters"]["redact_secrets"]["()"] == "common.log_redaction.RedactSecretsFilter"
    assert config["handlers"]
    for name, handler in config["handlers"].items():
        assert "redact_secrets" in handler.get("filters", []), name


def live_handlers():
    """Every handler attached to a logger in this process, except pytest's own."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue
            if isinstance(handler, logging.NullHandler):  # writes nothing
                continue
            yield logger.name, handler


def test_it_leaves_no_handler_that_writes_without_the_filter():
    """Django's own handlers (django.server, mail_admins) included: they are replaced."""
    seen = list(live_handlers())
    assert seen, "the configured handlers are missing"
    for logger_name, handler in seen:
        assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters), (
            logger_name,
            handler,
        )
    for name in ("django", "django.request", "django.server", "django.security"):
        assert not logging.getLogger(name).handlers, name  # they write through the root's


@pytest.fixture
def written_logs():
    """What the handlers configured by settings.LOGGING write, at every level, while the test
    runs (their streams swapped for a buffer)."""
    handlers = [h for _, h in live_handlers() if isinstance(h, logging.StreamHandler)]
    assert handlers
    buffer = io.StringIO()
    streams = [h.setStream(buffer) for h in handlers]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)  # urllib3's and everyone's debug lines too
    yield buffer
    root.setLevel(level)
    for handler, stream in zip(handlers, streams, strict=True):
        handler.setStream(stream)


# --- every error path, with real-looking secrets -------------------------------------------------


def failing_view(request):
    """A bug that puts a key into an exception message (test-only URL)."""
    raise RuntimeError(f"upstream said: invalid key {VALID_KEYS['gemini']}")


urlpatterns = [path("boom/", failing_view), path("", include("config.urls"))]


def drive_ai_key_errors(team, fake_providers, settings):
    owner = api_client(team.owner)

    def key_test(provider, key, **extra):
        response = owner.post(
            "/api/settings/ai-config/test",
            {"provider": provider, "api_key": key, **extra},
            format="json",
        )
        assert response.json().get("success") is False, response.content

    for provider, key in WRONG_KEYS.items():  # refused keys, each provider
        key_test(provider, key)
    key_test("mistral", "WRONGmistral0123456789abcdMsTr")
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    custom_url = fake_providers.base_urls()["CUSTOM_BASE_URL"]
    key_test("custom", "local-WRONG-key-0123456789CuSt", base_url=custom_url)
    for provider in WRONG_KEYS:  # valid keys, the provider failing in every way
        for scenario in ("no_credit", "rate_limited", "server_error", "garbage", "redirect"):
            fake_providers.set_scenario(provider, scenario)
            key_test(provider, VALID_KEYS[provider])
        fake_providers.set_scenario(provider, "ok")
    settings.AI_PROVIDER_TIMEOUT = 0.5
    for provider in ("openai", "gemini", "anthropic"):  # timeouts
        fake_providers.set_scenario(provider, "hang")
        key_test(provider, VALID_KEYS[provider])
        fake_providers.set_scenario(provider, "ok")
    settings.AI_PROVIDER_TIMEOUT = 2
    # Saving refused keys (API and page).
    owner.put(
        "/api/settings/ai-config",
        {"provider": "gemini", "api_key": WRONG_KEYS["gemini"]},
        format="json",
    )
    page = Client()
    page.force_login(team.owner)
    page.post(
        "/settings/ai/",
        {"provider": "groq", "api_key": WRONG_KEYS["groq"], "action": "save"},
    )


def drive_whatsapp_errors(team, fake_graph, settings):
    owner = api_client(team.owner)
    test_url = "/api/settings/whatsapp-meta/test"
    ids = {"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}
    for token in (INVALID_TOKEN, EXPIRED_TOKEN, NO_PERMISSION_TOKEN):  # verification refused
        owner.post(test_url, {**ids, "access_token": token}, format="json")
    owner.put(  # saving a refused token
        "/api/settings/whatsapp-meta",
        {**ids, "access_token": INVALID_TOKEN, "app_secret": APP_SECRET},
        format="json",
    )
    for scenario in ("server_error", "bad_gateway", "garbage", "rate_limit", "permission"):
        fake_graph.scenario("phone", scenario)
        owner.post(test_url, {**ids, "access_token": VALID_TOKEN}, format="json")
    settings.AI_PROVIDER_TIMEOUT = 0.5
    fake_graph.scenario("phone", "hang")
    owner.post(test_url, {**ids, "access_token": VALID_TOKEN}, format="json")
    settings.AI_PROVIDER_TIMEOUT = 2
    fake_graph.scenario("phone", "ok")
    saved = owner.put(
        "/api/settings/whatsapp-meta",
        {**ids, "access_token": VALID_TOKEN, "app_secret": APP_SECRET},
        format="json",
    )
    assert saved.status_code == 200, saved.content


def drive_messaging_errors(team, fake_providers, fake_graph):
    owner = api_client(team.owner)
    saved = owner.put(
        "/api/settings/ai-config",
        {"provider": "openai", "api_key": VALID_KEYS["openai"]},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    member = api_client(team.member)
    for scenario in ("server_error", "rate_limited", "garbage"):  # drafting fails
        fake_providers.set_scenario("openai", scenario)
        member.post("/api/messages/generate", {"prompt": "Hello"}, format="json")
    fake_providers.set_scenario("openai", "ok")
    for scenario in ("server_error", "rate_limit", "recipient_not_allowed", "garbage"):
        fake_graph.scenario("send", scenario)  # sending fails
        member.post("/api/messages/send", {"to": "+15551234567", "text": "Hi"}, format="json")
    fake_graph.scenario("send", "ok")
    config = WhatsAppConfig.objects.get(organization=team.org)
    config.access_token = NO_PERMISSION_TOKEN  # revoked after saving
    config.save()
    member.post("/api/messages/send", {"to": "+15551234567", "text": "Hi"}, format="json")
    return config


def drive_webhook_refusals(config):
    url = f"/webhooks/whatsapp/{config.webhook_id}/"
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    client = Client()
    # A wrong verify token (a key pasted by mistake), and wrong or missing signatures.
    client.get(url, {"hub.mode": "subscribe", "hub.verify_token": VALID_KEYS["openai"]})
    for signature in ("sha256=" + "0" * 64, "", sign(app_secret="not-the-secret", body=body)):
        client.post(url, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature)
    client.post(
        url,
        b"not json",
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=b"not json"),
    )


def drive_unexpected_errors(team, monkeypatch):
    # A bug in a view: Django logs the traceback ("Internal Server Error").
    Client(raise_request_exception=False).get("/boom/")

    # A bug below a real endpoint, whose exception quotes the outgoing request.
    def broken_send(method, url, *, headers=None, **kwargs):
        raise RuntimeError(f"cannot send {method} {url}?key={VALID_KEYS['gemini']} {headers}")

    monkeypatch.setattr(http, "send", broken_send)
    monkeypatch.setattr("aiconfig.clients.send", broken_send)
    owner = api_client(team.owner)
    owner.raise_request_exception = False
    owner.post(
        "/api/settings/ai-config/test",
        {"provider": "anthropic", "api_key": VALID_KEYS["anthropic"]},
        format="json",
    )
    owner.post(
        "/api/settings/whatsapp-meta/test",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": EXPIRED_TOKEN,
        },
        format="json",
    )
    monkeypatch.undo()
    # Requests whose path holds a key (404s are logged with the path).
    Client().get(f"/no-such-page/{VALID_KEYS['groq']}/")
    # Logins with a key pasted as the password (the failures are logged), up to the lockout.
    for _ in range(django_settings.AXES_FAILURE_LIMIT + 1):
        api_client().post(
            "/api/auth/token",
            {"email": "owner@grace.test", "password": VALID_KEYS["deepseek"]},
            format="json",
        )
        Client().post(
            "/accounts/login/",
            {"username": "admin@grace.test", "password": VALID_KEYS["openrouter"]},
        )
    # Code that logs what it should not, every way a logger can be handed a value.
    log = logging.getLogger("whatsapp.services")
    log.warning("token %s refused", VALID_TOKEN)
    log.info("headers: %r", {"x-goog-api-key": VALID_KEYS["gemini"]}, extra={"k": VALID_TOKEN})
    log.debug("Authorization: Bearer %s", INVALID_TOKEN, stack_info=True)
    try:
        raise ValueError(f"bad key {WRONG_KEYS['anthropic']}")
    except ValueError:
        log.exception("while testing %s", WRONG_KEYS["openai"])
    # The development server's request line, query string included.
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /x/?hub.verify_token=s3cret-verify&key={VALID_KEYS['gemini']}", 403, 0
    )


@pytest.mark.django_db
@pytest.mark.urls(__name__)  # the project's URLs plus /boom/
def test_it_writes_no_secret_on_any_error_path(
    team, fake_providers, fake_graph, settings, monkeypatch, written_logs
):
    settings.AI_KEY_TEST_RATE = "1000/min"
    settings.MESSAGES_RATE = "1000/min"
    drive_ai_key_errors(team, fake_providers, settings)
    drive_whatsapp_errors(team, fake_graph, settings)
    config = drive_messaging_errors(team, fake_providers, fake_graph)
    drive_webhook_refusals(config)
    drive_unexpected_errors(team, monkeypatch)

    written = written_logs.getvalue()
    # Every path ran and was written (through the real handlers).
    for marker in (
        "AI key test failed: provider=openai code=invalid_api_key",
        "AI key test failed: provider=gemini code=timeout",
        "WhatsApp Graph call failed: invalid_token",
        "WhatsApp Graph call failed: token_expired",
        "WhatsApp webhook refused",
        "Internal Server Error: /boom/",
        "Internal Server Error: /api/settings/ai-config/test",
        "Internal Server Error: /api/settings/whatsapp-meta/test",
        "Not Found: /no-such-page/",
        "AXES: Locking out",
        "Traceback (most recent call last)",
        "urllib3",
        "django.server",
    ):
        assert marker in written, marker
    assert written.count(REDACTED) >= 10
    secrets = [
        *SHAPED_SECRETS,
        *VALID_KEYS.values(),
        "WRONGmistral0123456789abcdMsTr",
        "local-WRONG-key-0123456789CuSt",
        APP_SECRET,
        config.webhook_verify_token,
        "s3cret-verify",
    ]
    leaked = [secret for secret in secrets if secret in written]
    assert not leaked
