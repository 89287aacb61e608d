"""Security headers, the login lockout (page and API), and `check --deploy` with production
settings."""

import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.test import Client

from conftest import PASSWORD, api_client
from organizations.models import User

BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token"
LOCKED_MESSAGE = "Too many failed login attempts"


# --- headers -------------------------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LOGIN, "/accounts/register/", "/api/me", "/no-such-page/"])
def test_it_sends_a_content_security_policy_without_inline_script(url):
    directives = csp_directives(Client().get(url))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]
    header = Client().get(url)["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header


@pytest.mark.django_db
def test_it_allows_data_images_on_the_api_docs_page_only():
    """Swagger UI's stylesheet draws icons as data: images; scripts stay files from here."""
    directives = csp_directives(Client().get("/api/docs/"))
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LOGIN, "/api/me"])
def test_it_sends_the_other_security_headers(url):
    response = Client().get(url)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_it_sends_hsts_on_https_only(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    secure = Client().get(LOGIN, secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in Client().get(LOGIN)


INLINE_CODE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script element without src
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick= and the like
    re.compile(r"javascript:", re.I),
]


@pytest.mark.django_db
def test_it_renders_every_page_without_inline_script_or_style(team, settings):
    """What the policy would block: the pages must not need it."""
    settings.AXES_FAILURE_LIMIT = 1
    anonymous = [LOGIN, "/accounts/register/", "/accounts/password/reset/", "/api/docs/"]
    signed_in = ["/", "/settings/", "/messages/", "/organization/members/"]
    signed_in += ["/organization/activity/", "/organization/new/"]
    signed_in += ["/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]
    signed_in += ["/accounts/2fa/totp/activate/"]
    pages = {url: Client().get(url) for url in anonymous}
    owner = Client()
    owner.force_login(team.owner)
    # Two-factor set-up first asks for the password again.
    assert owner.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    pages.update({url: owner.get(url) for url in signed_in})
    pages["locked out"] = Client().post(LOGIN, {"login": "owner@grace.test", "password": "x"})
    for name, response in pages.items():
        assert response.status_code in (200, 429), name
        html = response.content.decode()
        for pattern in INLINE_CODE:
            assert not pattern.search(html), (name, pattern.pattern, pattern.search(html))


# --- lockout: login page -------------------------------------------------------------------------


def login_page(email, password, ip="127.0.0.1", client=None):
    return (client or Client()).post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=ip)


def token(email, password, ip="127.0.0.1"):
    return api_client().post(
        TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


def fail_until_limit(settings, attempt, email="owner@grace.test", ip="127.0.0.1"):
    """All failures but the last one the limit allows; returns the last (locking) response."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(email, "wrong-password", ip)
        assert response.status_code in (200, 401), response.content
    return attempt(email, "wrong-password", ip)


@pytest.mark.django_db
def test_it_locks_the_login_page_after_repeated_failures(team, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    locked = fail_until_limit(settings, login_page)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert LOCKED_MESSAGE in html and "15 minutes" in html
    assert 'href="/accounts/password/reset/"' in html
    assert locked["Retry-After"] == "900"
    assert "Content-Security-Policy" in locked

    client = Client()
    refused = login_page("owner@grace.test", PASSWORD, client=client)
    assert refused.status_code == 429 and LOCKED_MESSAGE in refused.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_counts_an_email_whatever_its_case(team, settings):
    for index in range(settings.AXES_FAILURE_LIMIT):
        email = "OWNER@Grace.test" if index % 2 else "owner@grace.test"
        response = login_page(email, "wrong-password")
    assert response.status_code == 429
    assert login_page("Owner@grace.TEST", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_it_lets_a_correct_password_in_below_the_limit_and_forgets_the_failures(team, settings):
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert login_page("owner@grace.test", "wrong-password").status_code == 200
        assert login_page("owner@grace.test", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()


# --- lockout: API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_locks_the_token_endpoint_with_a_json_error(team, settings):
    locked = fail_until_limit(settings, token)
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    body = locked.json()
    assert body["error_code"] == "locked_out"
    assert LOCKED_MESSAGE in body["error"] and "15 minutes" in body["error"]
    assert "reset your password" in body["error"]
    assert locked["Retry-After"] == "900"

    refused = token("owner@grace.test", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "locked_out"
    assert "access" not in refused.json()


@pytest.mark.django_db
def test_it_lets_a_correct_password_in_through_the_api_and_forgets_the_failures(team, settings):
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert token("owner@grace.test", "wrong-password").status_code == 401
        assert token("owner@grace.test", PASSWORD).status_code == 200
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_it_counts_page_and_api_failures_together(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login_page("owner@grace.test", "wrong-password")
    assert token("owner@grace.test", "wrong-password").status_code == 429
    assert login_page("owner@grace.test", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_it_locks_only_that_email_from_that_address(team, settings):
    fail_until_limit(settings, login_page, ip="203.0.113.7")
    assert token("owner@grace.test", PASSWORD, ip="203.0.113.7").status_code == 429
    # The same user from elsewhere, and another user from the same address, still log in.
    assert login_page("owner@grace.test", PASSWORD, ip="198.51.100.2").status_code == 302
    assert token("owner@grace.test", PASSWORD, ip="198.51.100.2").status_code == 200
    assert login_page("member@grace.test", PASSWORD, ip="203.0.113.7").status_code == 302
    assert token("member@grace.test", PASSWORD, ip="203.0.113.7").status_code == 200


@pytest.mark.django_db
def test_it_counts_failures_for_unknown_emails_too(db, settings):
    locked = fail_until_limit(settings, token, email="nobody@example.org")
    assert locked.status_code == 429


@pytest.mark.django_db
def test_it_protects_the_admin_login_too(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = Client().post(
            "/admin/login/", {"username": "owner@grace.test", "password": "wrong-password"}
        )
    assert response.status_code == 429 and LOCKED_MESSAGE in response.content.decode()


# --- lockout: ways out ---------------------------------------------------------------------------


def reset_password(email: str, new_password: str) -> None:
    mail.outbox.clear()
    assert Client().post("/accounts/password/reset/", {"email": email}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    client = Client()
    form = client.get(link.group(1), follow=True)
    done = client.post(
        form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/key/done/"


@pytest.mark.django_db
def test_it_lifts_the_lockout_after_a_password_reset(team, settings):
    fail_until_limit(settings, login_page, ip="203.0.113.7")
    fail_until_limit(settings, token, ip="198.51.100.2")
    fail_until_limit(settings, token, email="member@grace.test", ip="198.51.100.2")

    reset_password("owner@grace.test", "A-brand-new-Passw0rd")

    assert (
        login_page("owner@grace.test", "A-brand-new-Passw0rd", ip="203.0.113.7").status_code == 302
    )
    assert token("owner@grace.test", "A-brand-new-Passw0rd", ip="198.51.100.2").status_code == 200
    # Only that account: the other one stays locked.
    assert token("member@grace.test", PASSWORD, ip="198.51.100.2").status_code == 429


@pytest.mark.django_db
def test_it_lifts_the_lockout_once_the_cool_off_has_passed(team, settings):
    fail_until_limit(settings, login_page)
    assert token("owner@grace.test", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=15, seconds=1)
    )
    assert token("owner@grace.test", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_it_lifts_the_lockout_with_the_management_command(team, settings):
    fail_until_limit(settings, login_page)
    call_command("axes_reset_username", "owner@grace.test", stdout=open(os.devnull, "w"))
    assert login_page("owner@grace.test", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_it_lists_and_deletes_lockouts_in_the_admin(team, settings):
    fail_until_limit(settings, login_page, ip="203.0.113.7")
    admin = Client()
    admin.force_login(User.objects.create_superuser(email="root@example.org", password="x"))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "owner@grace.test" in listing.content.decode()
    attempt = AccessAttempt.objects.get()
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert login_page("owner@grace.test", PASSWORD, ip="203.0.113.7").status_code == 302


# --- check --deploy ------------------------------------------------------------------------------


def production_env(**overrides) -> dict[str, str]:
    """The environment .ci/run gives `manage.py check --deploy`, and nothing from this test
    process (whose settings are the test ones)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        CRYPTOGRAPHY_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="messaging.example.org",
        SITE_URL="https://messaging.example.org",
        SECURE_HSTS_SECONDS="31536000",
        EMAIL_URL="smtp+tls://mailer:secret@mail.example.org:587",
    )
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "overrides",
    [{}, {"SECURE_HSTS_SECONDS": None}],
    ids=["as-in-ci", "hsts-by-default"],
)
def test_it_passes_the_deploy_check_with_production_settings(overrides):
    result = deploy_check(production_env(**overrides))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_it_fails_the_deploy_check_when_production_settings_are_unsafe():
    result = deploy_check(production_env(SITE_URL="http://127.0.0.1:8000", SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "org.W002" in result.stderr and "security.W004" in result.stderr


def test_it_warns_when_production_mails_to_the_console():
    result = deploy_check(production_env(EMAIL_URL=None))
    assert result.returncode != 0 and "org.W004" in result.stderr


def test_it_warns_when_the_cache_is_not_shared_between_processes():
    result = deploy_check(production_env(CACHE_URL="locmemcache://"))
    assert result.returncode != 0 and "org.W003" in result.stderr
