"""allauth's one-time links (password reset by key, email verification) never reach a log with
their key: neither gunicorn's access log nor a line written through the logging filter. The
keys are made by allauth itself and the paths by its URLs, so a change of their shape shows."""

import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.urls import reverse
from gunicorn.config import Config

from common.log_redaction import REDACTED, RedactSecretsFilter, redact

pytestmark = pytest.mark.django_db

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def gunicorn_conf():
    return runpy.run_path(str(GUNICORN_CONF))


@pytest.fixture
def links(team):
    """The two links allauth mails to `team.owner`, and the keys in them."""
    uid = user_pk_to_url_str(team.owner)
    reset_key = default_token_generator.make_token(team.owner)
    address = EmailAddress.objects.get(user=team.owner, email__iexact=team.owner.email)
    confirm_key = EmailConfirmationHMAC(address).key
    return SimpleNamespace(
        uid=uid,
        reset_key=reset_key,
        reset=reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": reset_key}),
        confirm_key=confirm_key,
        confirm=reverse("account_confirm_email", args=[confirm_key]),
    )


def test_it_builds_links_shaped_as_the_redaction_expects(links):
    assert links.reset == f"/accounts/password/reset/key/{links.uid}-{links.reset_key}/"
    assert links.confirm == f"/accounts/confirm-email/{links.confirm_key}/"
    assert len(links.reset_key) >= 20 and len(links.confirm_key) >= 20


# --- gunicorn's access log -----------------------------------------------------------------------


@pytest.fixture
def gunicorn_logger(gunicorn_conf):
    """gunicorn's logger as gunicorn.conf.py configures it. It attaches handlers to the
    gunicorn.* loggers of this process: taken off again, so that no later test sees them."""
    names = ("gunicorn.error", "gunicorn.access")
    before = {name: list(logging.getLogger(name).handlers) for name in names}
    yield gunicorn_conf["RedactingLogger"](Config())
    for name in names:
        logging.getLogger(name).handlers[:] = before[name]


def access_log_line(logger, path: str) -> str:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    request = SimpleNamespace(headers=[])
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    return " | ".join((atoms["r"], atoms["U"], atoms["{raw_uri}e"]))


def test_it_keeps_the_password_reset_key_out_of_the_access_log(gunicorn_logger, links):
    line = access_log_line(gunicorn_logger, links.reset)
    assert links.reset_key not in line
    assert f"GET /accounts/password/reset/key/{links.uid}-[redacted]/ HTTP/1.1" in line


def test_it_keeps_the_email_verification_key_out_of_the_access_log(gunicorn_logger, links):
    line = access_log_line(gunicorn_logger, links.confirm)
    assert links.confirm_key not in line
    assert "GET /accounts/confirm-email/[redacted]/ HTTP/1.1" in line


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/key/done/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/",
        "/accounts/confirm-email/",
    ],
)
def test_it_leaves_the_access_log_paths_without_a_key_readable(gunicorn_conf, path):
    assert gunicorn_conf["redact_path"](path) == path


def test_it_redacts_a_key_without_the_user_part_in_the_access_log(gunicorn_conf):
    redact_path = gunicorn_conf["redact_path"]
    assert redact_path("/accounts/password/reset/key/-cz1k-s3cret/") == (
        "/accounts/password/reset/key/[redacted]/"
    )


# --- the logging filter --------------------------------------------------------------------------


def filtered(message: str, *args) -> str:
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    assert RedactSecretsFilter().filter(record) is True
    return record.getMessage()


def test_it_keeps_the_password_reset_key_out_of_log_lines(links):
    line = filtered("Not Found: %s", links.reset)
    assert links.reset_key not in line
    assert line == f"Not Found: /accounts/password/reset/key/{links.uid}-{REDACTED}/"
    # In a full link too (a mail body logged by mistake), query string and all.
    text = filtered("Reset: https://church.example%s?next=/ sent", links.reset)
    assert links.reset_key not in text
    assert f"/key/{links.uid}-{REDACTED}/?next=/ sent" in text


def test_it_keeps_the_email_verification_key_out_of_log_lines(links):
    line = filtered('"GET %s HTTP/1.1" 200', links.confirm)
    assert links.confirm_key not in line
    assert line == f'"GET /accounts/confirm-email/{REDACTED}/ HTTP/1.1" 200'


@pytest.mark.parametrize(
    "text",
    [
        "Not Found: /accounts/password/reset/key/done/",
        "GET /accounts/password/reset/key/done HTTP/1.1",
        "POST /accounts/password/reset/ 302",
    ],
)
def test_it_leaves_log_lines_without_a_key_alone(text):
    assert redact(text) == text


def test_it_changes_a_redacted_link_no_further(links):
    for path in (links.reset, links.confirm):
        once = redact(f"GET {path}")
        assert redact(once) == once and REDACTED in once
