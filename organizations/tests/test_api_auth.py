from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conftest import PASSWORD, api_client
from organizations.models import AuditEvent, Invitation, Membership, Organization, Role, User

pytestmark = pytest.mark.django_db


def register(payload):
    return api_client().post("/api/auth/register", payload, format="json")


def test_it_registers_a_user_with_a_new_organization():
    response = register(
        {"email": "Pastor@Example.org", "password": PASSWORD, "organization_name": "St. Mark's"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"]["email"] == "pastor@example.org"
    assert body["organization"]["name"] == "St. Mark's"
    assert body["organization"]["slug"] == "st-marks"
    assert body["organization"]["role"] == "owner"
    assert body["access"] and body["refresh"]
    user = User.objects.get(email="pastor@example.org")
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert AuditEvent.objects.filter(action="organization.created", actor=user).exists()


def test_it_gives_a_unique_slug_to_organizations_with_the_same_name():
    register({"email": "a@example.org", "password": PASSWORD, "organization_name": "Grace"})
    response = register(
        {"email": "b@example.org", "password": PASSWORD, "organization_name": "Grace"}
    )
    assert response.json()["organization"]["slug"] == "grace-2"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "x@example.org", "password": "123", "organization_name": "A"}, "password"),
        ({"email": "x@example.org", "password": "password", "organization_name": "A"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD, "organization_name": "A"}, "email"),
        ({"email": "x@example.org", "password": PASSWORD}, "organization_name"),
        (
            {"email": "x@example.org", "password": PASSWORD, "organization_name": 5},
            "organization_name",
        ),
        ({"email": ["x@example.org"], "password": PASSWORD, "organization_name": "A"}, "email"),
        (
            {"email": "x@example.org", "password": PASSWORD, "invitation_token": "nope"},
            "invitation_token",
        ),
    ],
)
def test_it_refuses_bad_registrations_with_field_errors(payload, field):
    response = register(payload)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]
    assert field in body["fields"]
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_it_refuses_a_duplicate_email(team):
    response = register(
        {"email": "OWNER@grace.test", "password": PASSWORD, "organization_name": "B"}
    )
    assert response.status_code == 400
    assert "email" in response.json()["fields"]
    assert Organization.objects.count() == 2


def test_it_refuses_a_body_that_is_not_json():
    response = api_client().post(
        "/api/auth/register", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]


def invite(team, email="new@grace.test", role="member", by=None):
    response = api_client(by or team.owner, team.org).post(
        "/api/organization/invitations", {"email": email, "role": role}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_registers_through_an_invitation_with_the_invited_role(team):
    token = invite(team, role="admin")["token"]
    response = register(
        {"email": "new@grace.test", "password": PASSWORD, "invitation_token": token}
    )
    assert response.status_code == 201, response.content
    assert response.json()["organization"] == {
        "id": team.org.pk,
        "name": "Grace Church",
        "slug": "grace-church",
        "role": "admin",
    }
    assert Membership.objects.get(user__email="new@grace.test").organization == team.org
    assert Organization.objects.count() == 2


def test_it_uses_an_invitation_only_once(team):
    token = invite(team)["token"]
    assert (
        register(
            {"email": "new@grace.test", "password": PASSWORD, "invitation_token": token}
        ).status_code
        == 201
    )
    response = api_client(User.objects.get(email="new@grace.test")).post(
        "/api/organization/invitations/accept", {"token": token}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "used_token"


def test_it_refuses_an_expired_invitation(team):
    token = invite(team)["token"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = register(
        {"email": "new@grace.test", "password": PASSWORD, "invitation_token": token}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "expired_token"
    assert "invitation_token" in response.json()["fields"]
    assert not User.objects.filter(email="new@grace.test").exists()


def test_it_expires_invitations_after_seven_days(team):
    before = timezone.now()
    body = invite(team)
    after = timezone.now()
    invitation = Invitation.objects.get(pk=body["id"])
    assert before + timedelta(days=7) <= invitation.expires_at <= after + timedelta(days=7)


def test_it_refuses_an_invitation_for_another_email(team):
    token = invite(team)["token"]
    response = register(
        {"email": "someone@else.test", "password": PASSWORD, "invitation_token": token}
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(user__email="someone@else.test").exists()


def test_it_issues_tokens_for_good_credentials(team):
    response = api_client().post(
        "/api/auth/token", {"email": "owner@grace.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_it_answers_401_to_wrong_credentials(team):
    response = api_client().post(
        "/api/auth/token", {"email": "owner@grace.test", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"]


def obtain(email="owner@grace.test"):
    return (
        api_client()
        .post("/api/auth/token", {"email": email, "password": PASSWORD}, format="json")
        .json()
    )


def test_it_rotates_refresh_tokens_and_blacklists_the_old_one(team):
    tokens = obtain()
    response = api_client().post(
        "/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["access"] and rotated["refresh"] and rotated["refresh"] != tokens["refresh"]
    again = api_client().post(
        "/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert again.status_code == 401


def test_it_logs_out_by_blacklisting_the_refresh_token(team):
    tokens = obtain()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 205
    )
    response = api_client().post(
        "/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 401


def test_it_refuses_to_log_out_someone_elses_refresh_token(team):
    theirs = obtain("member@grace.test")
    response = api_client(team.outsider).post(
        "/api/auth/logout", {"refresh": theirs["refresh"]}, format="json"
    )
    assert response.status_code == 400
    assert (
        api_client()
        .post("/api/auth/token/refresh", {"refresh": theirs["refresh"]}, format="json")
        .status_code
        == 200
    )


def test_it_requires_authentication_to_log_out(team):
    tokens = obtain()
    assert (
        api_client()
        .post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")
        .status_code
        == 401
    )


def test_it_answers_401_to_a_bad_bearer_token(team):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]


def test_it_does_not_redirect_api_paths_without_a_trailing_slash(team):
    response = api_client().post("/api/auth/token", {"email": "x", "password": "y"}, format="json")
    assert response.status_code in (400, 401)


def test_it_shows_me_with_my_organizations(team):
    Membership.objects.create(user=team.member, organization=team.other_org, role=Role.ADMIN)
    response = api_client(team.member).get("/api/me")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "member@grace.test"
    assert {(o["slug"], o["role"]) for o in body["organizations"]} == {
        ("grace-church", "member"),
        ("hope-chapel", "admin"),
    }


def test_it_requires_a_token_for_me():
    assert api_client().get("/api/me").status_code == 401


def test_it_emails_the_invitation_with_the_accept_link(team, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        body = invite(team, email="friend@grace.test")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["friend@grace.test"]
    assert body["accept_url"] in message.body
    assert body["accept_url"].endswith(f"/invitations/{body['token']}/")
    assert set(body) >= {"id", "email", "role", "token", "expires_at", "accept_url"}


def test_it_stores_only_a_hash_of_the_invitation_token(team):
    body = invite(team)
    invitation = Invitation.objects.get(pk=body["id"])
    assert body["token"] not in invitation.token_hash
    assert invitation.token_hint == body["token"][-4:]


def test_it_retries_the_slug_when_another_sign_up_took_it_at_the_same_moment(monkeypatch):
    from organizations import services

    register({"email": "a@example.org", "password": PASSWORD, "organization_name": "Race Church"})
    # The other sign-up's slug check ran before this one's insert: it sees "race-church" free.
    real = services._unique_slug
    calls = []

    def stale_then_real(name):
        calls.append(name)
        return "race-church" if len(calls) == 1 else real(name)

    monkeypatch.setattr(services, "_unique_slug", stale_then_real)
    response = register(
        {"email": "b@example.org", "password": PASSWORD, "organization_name": "Race Church"}
    )
    assert response.status_code == 201
    assert response.json()["organization"]["slug"] == "race-church-2"
