"""LOGIN_RATE, SIGNUP_RATE, PASSWORD_RESET_RATE and INVITATION_RATE: counted per client address
(or email, or organization) across the pages and the API, so new accounts reset nothing."""

import pytest
from django.core import mail
from django.test import Client

from conftest import PASSWORD, api_client, make_user
from organizations.models import Invitation, Membership, Organization, Role

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.9"
SOMEONE_ELSE = "198.51.100.4"


def login_page(email, password=PASSWORD, ip=ATTACKER):
    return Client().post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def token(email, password=PASSWORD, ip=ATTACKER):
    return api_client().post(
        "/api/auth/token", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


def assert_throttled_json(response):
    assert response.status_code == 429
    assert response.json()["error_code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def assert_throttled_page(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many requests" in response.content.decode()


# --- LOGIN_RATE ----------------------------------------------------------------------------------


def test_it_limits_logins_per_address_across_pages_and_api(team, settings):
    settings.LOGIN_RATE = "4/minute"
    # Different accounts, right passwords: the limit is the address's, not the account's.
    assert login_page("owner@grace.test").status_code == 302
    assert token("admin@grace.test").status_code == 200
    assert login_page("member@grace.test").status_code == 302
    assert token("outsider@hope.test").status_code == 200
    assert_throttled_json(token("owner@grace.test"))
    assert_throttled_page(login_page("owner@grace.test"))
    # Another address is not affected.
    assert token("owner@grace.test", ip=SOMEONE_ELSE).status_code == 200


def test_it_limits_admin_logins_with_the_same_counter(team, settings):
    settings.LOGIN_RATE = "1/minute"
    assert token("owner@grace.test").status_code == 200
    response = Client().post(
        "/admin/login/",
        {"username": "owner@grace.test", "password": PASSWORD},
        REMOTE_ADDR=ATTACKER,
    )
    assert_throttled_page(response)


def test_it_keeps_the_failed_login_lockout_apart_from_the_rate(team, settings):
    """The rate is generous; failed logins of one account lock that account from that address
    well before it."""
    assert settings.LOGIN_RATE == "30/minute"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token("owner@grace.test", "wrong-password")
    locked = token("owner@grace.test")
    assert locked.status_code == 429 and locked.json()["error_code"] == "locked_out"
    assert token("admin@grace.test").status_code == 200


# --- SIGNUP_RATE ---------------------------------------------------------------------------------


def sign_up_api(email, ip=ATTACKER):
    return api_client().post(
        "/api/auth/register",
        {"email": email, "password": PASSWORD, "organization_name": "Spam Church"},
        format="json",
        REMOTE_ADDR=ip,
    )


def sign_up_page(email, ip=ATTACKER):
    return Client().post(
        "/accounts/register/",
        {"email": email, "password1": PASSWORD, "organization_name": "Spam Church"},
        REMOTE_ADDR=ip,
    )


def test_it_limits_sign_ups_per_address_across_pages_and_api(db, settings):
    assert settings.SIGNUP_RATE == "5/hour"
    for i in range(3):
        assert sign_up_api(f"bot{i}@example.org").status_code == 201
    for i in range(3, 5):
        assert sign_up_page(f"bot{i}@example.org").status_code == 302
    assert_throttled_json(sign_up_api("bot5@example.org"))
    assert_throttled_page(sign_up_page("bot6@example.org"))
    assert Organization.objects.count() == 5
    assert sign_up_api("real@example.org", ip=SOMEONE_ELSE).status_code == 201


def test_it_counts_refused_sign_ups_too_which_bounds_email_probing(team, settings):
    """A taken email is a 400 (as pinned), but each probe counts against the limit."""
    settings.SIGNUP_RATE = "3/hour"
    for email in ("owner@grace.test", "admin@grace.test", "member@grace.test"):
        response = sign_up_api(email)
        assert response.status_code == 400 and response.json()["error_code"] == "duplicate"
    assert_throttled_json(sign_up_api("outsider@hope.test"))


def test_it_limits_sign_ups_through_invitation_pages(team, settings):
    from organizations.services import invitation_create

    settings.SIGNUP_RATE = "1/hour"
    assert sign_up_api("first@example.org").status_code == 201
    _, token_ = invitation_create(
        actor=team.membership(team.owner), email="friend@example.org", role=Role.MEMBER
    )
    response = Client().post(
        f"/invitations/{token_}/", {"password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert_throttled_page(response)
    assert not Membership.objects.filter(user__email="friend@example.org").exists()


# --- PASSWORD_RESET_RATE -------------------------------------------------------------------------


def reset(email, ip=ATTACKER):
    return Client().post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=ip)


def test_it_limits_password_resets_per_address(team, settings):
    settings.PASSWORD_RESET_RATE = "2/hour"
    mail.outbox.clear()
    assert reset("owner@grace.test").status_code == 302
    assert reset("nobody@example.org").status_code == 302
    assert_throttled_page(reset("member@grace.test"))
    assert [m.to for m in mail.outbox] == [["owner@grace.test"]]


def test_it_limits_password_resets_per_email_from_any_address(team, settings):
    settings.PASSWORD_RESET_RATE = "2/hour"
    mail.outbox.clear()
    assert reset("owner@grace.test", ip="203.0.113.1").status_code == 302
    assert reset("OWNER@grace.test", ip="203.0.113.2").status_code == 302
    assert_throttled_page(reset("owner@grace.test", ip="203.0.113.3"))
    assert len(mail.outbox) == 2
    # Another address's owner is not affected.
    assert reset("member@grace.test", ip="203.0.113.3").status_code == 302


# --- INVITATION_RATE -----------------------------------------------------------------------------


def invite_api(user, org, email):
    return api_client(user, org).post(
        "/api/organization/invitations", {"email": email, "role": "member"}, format="json"
    )


def test_it_limits_invitations_per_organization_whoever_sends_them(team, settings):
    settings.INVITATION_RATE = "3/hour"
    assert invite_api(team.owner, team.org, "a@example.org").status_code == 201
    assert invite_api(team.admin, team.org, "b@example.org").status_code == 201
    first = Invitation.objects.get(email="a@example.org")
    resent = api_client(team.admin, team.org).post(
        f"/api/organization/invitations/{first.pk}/resend"
    )
    assert resent.status_code == 202  # a resend sends an email too: it counts
    refused = invite_api(team.owner, team.org, "c@example.org")
    assert_throttled_json(refused)
    assert "c@example.org" not in refused.content.decode()
    assert not Invitation.objects.filter(email="c@example.org").exists()
    # The page says so too, beside the form.
    client = Client()
    client.force_login(team.admin)
    page = client.post("/organization/members/", {"email": "d@example.org", "role": "member"})
    assert page.status_code == 200 and "Too many requests" in page.content.decode()
    # Another organization has its own count.
    assert invite_api(team.outsider, team.other_org, "e@example.org").status_code == 201


def test_it_does_not_reset_the_invitation_limit_with_a_new_admin(team, settings):
    settings.INVITATION_RATE = "1/hour"
    assert invite_api(team.owner, team.org, "a@example.org").status_code == 201
    fresh = make_user("fresh.admin@grace.test")
    Membership.objects.create(user=fresh, organization=team.org, role=Role.ADMIN)
    assert_throttled_json(invite_api(fresh, team.org, "b@example.org"))
