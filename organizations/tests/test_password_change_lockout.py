"""`POST /api/auth/password/change` with a wrong current password counts as a failed login
(django-axes, per email and client address, as `POST /api/auth/token` counts them): someone
holding a stolen access token cannot use it to guess the password."""

import pytest

from conftest import PASSWORD, api_client
from organizations.models import User

pytestmark = pytest.mark.django_db

URL = "/api/auth/password/change"
NEW_PASSWORD = "A-brand-new-Passw0rd"
ATTACKER = "203.0.113.9"
SOMEONE_ELSE = "198.51.100.4"


def change(user, old_password, ip=ATTACKER):
    return api_client(user).post(
        URL,
        {"old_password": old_password, "new_password": NEW_PASSWORD},
        format="json",
        REMOTE_ADDR=ip,
    )


def token(email, password=PASSWORD, ip=ATTACKER):
    return api_client().post(
        "/api/auth/token", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


def assert_locked_out(response):
    assert response.status_code == 429, response.content
    assert response.json()["error_code"] == "locked_out"
    assert int(response["Retry-After"]) >= 60


def test_it_locks_out_after_the_threshold_of_wrong_current_passwords(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = change(team.member, "guess-1234")
        assert wrong.status_code == 400 and wrong.json()["error_code"] == "wrong_password"
    assert_locked_out(change(team.member, "guess-1234"))  # the failure that reaches the limit

    assert_locked_out(change(team.member, PASSWORD))  # then the right password too
    assert User.objects.get(pk=team.member.pk).check_password(PASSWORD)
    # The one lockout: logging in from that address is refused as well.
    assert_locked_out(token("member@grace.test"))


def test_it_counts_failures_from_the_login_and_the_password_change_together(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token("member@grace.test", "guess-1234").status_code == 401
    assert_locked_out(change(team.member, "guess-5678"))
    assert_locked_out(change(team.member, PASSWORD))


def test_it_locks_only_that_email_from_that_address(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        change(team.member, "guess-1234")
    assert_locked_out(change(team.member, PASSWORD))
    assert change(team.admin, PASSWORD).status_code == 200
    assert change(team.member, PASSWORD, ip=SOMEONE_ELSE).status_code == 200


def test_it_forgets_earlier_failures_after_a_successful_change(team, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        change(team.member, "guess-1234")
    assert change(team.member, PASSWORD).status_code == 200
    member = User.objects.get(pk=team.member.pk)
    wrong = change(member, "guess-1234")
    assert wrong.status_code == 400 and wrong.json()["error_code"] == "wrong_password"
