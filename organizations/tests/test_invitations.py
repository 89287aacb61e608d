"""Pending invitations: listed, withdrawn and sent again (API and Members page), dead once
their sender is no longer an owner or admin, and only from a verified address."""

import re

import pytest
from django.core import mail
from django.test import Client

from conftest import PASSWORD, api_client
from organizations.models import AuditEvent, Invitation, Membership, Role
from organizations.services import invitation_create

pytestmark = pytest.mark.django_db

LIST = "/api/organization/invitations"


def invite(team, email="friend@example.org", by=None, role=Role.MEMBER):
    return invitation_create(actor=team.membership(by or team.owner), email=email, role=role)


def accept_as_new_user(token, email="friend@example.org"):
    return api_client().post(
        "/api/auth/register",
        {"email": email, "password": PASSWORD, "invitation_token": token},
        format="json",
    )


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- list ----------------------------------------------------------------------------------------


def test_it_lists_pending_invitations_without_tokens(team):
    first, token = invite(team)
    invite(team, email="second@example.org", by=team.admin, role=Role.ADMIN)
    accepted, accepted_token = invite(team, email="done@example.org")
    assert accept_as_new_user(accepted_token, "done@example.org").status_code == 201
    invitation_create(  # another organization's
        actor=Membership.objects.get(user=team.outsider), email="o@example.org", role="member"
    )

    response = api_client(team.admin, team.org).get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert [i["email"] for i in body] == ["second@example.org", "friend@example.org"]
    assert set(body[1]) == {"id", "email", "role", "invited_by", "created_at", "expires_at"}
    assert body[1]["invited_by"] == "owner@grace.test" and body[0]["role"] == "admin"
    assert token not in response.content.decode()
    assert first.token_hash not in response.content.decode()


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_it_does_not_list_invitations_to_a_member_or_an_outsider(team, who):
    invite(team)
    response = api_client(getattr(team, who), team.org).get(LIST)
    assert response.status_code == {"member": 403, "outsider": 404}[who]
    assert "friend@example.org" not in response.content.decode()


# --- withdraw ------------------------------------------------------------------------------------


def test_it_withdraws_an_invitation_and_refuses_its_token(team):
    invitation, token = invite(team)
    response = api_client(team.admin, team.org).delete(f"{LIST}/{invitation.pk}")
    assert response.status_code == 204
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    refused = accept_as_new_user(token)
    assert refused.status_code == 400 and refused.json()["error_code"] == "invalid_token"
    assert Client().get(f"/invitations/{token}/").status_code == 404
    event = AuditEvent.objects.get(action="invitation.revoked")
    assert event.actor == team.admin and event.target == "friend@example.org"


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("outsider", 404)])
def test_it_does_not_let_a_member_or_an_outsider_withdraw_an_invitation(team, who, status):
    invitation, token = invite(team)
    org = team.other_org if who == "outsider" else team.org
    response = api_client(getattr(team, who), org).delete(f"{LIST}/{invitation.pk}")
    assert response.status_code == status
    assert Invitation.objects.filter(pk=invitation.pk).exists()


@pytest.mark.parametrize("invitation_id", ["999999", "abc", "1" * 30, "%00"])
def test_it_answers_404_to_an_unknown_invitation(team, invitation_id):
    response = api_client(team.owner, team.org).delete(f"{LIST}/{invitation_id}")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"


# --- resend --------------------------------------------------------------------------------------


def test_it_resends_an_invitation_with_a_new_token_and_kills_the_old_one(
    team, django_capture_on_commit_callbacks
):
    invitation, old_token = invite(team, by=team.owner)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(team.admin, team.org).post(f"{LIST}/{invitation.pk}/resend")
    assert response.status_code == 202
    assert "no-store" in response["Cache-Control"]
    new_token = response.json()["token"]
    assert new_token != old_token
    assert new_token in mail.outbox[0].body and old_token not in mail.outbox[0].body
    invitation.refresh_from_db()
    assert invitation.invited_by == team.admin and not invitation.is_expired

    assert accept_as_new_user(old_token).status_code == 400
    assert accept_as_new_user(new_token).status_code == 201
    assert AuditEvent.objects.filter(action="invitation.resent", actor=team.admin).exists()


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("outsider", 404)])
def test_it_does_not_let_a_member_or_an_outsider_resend(team, who, status):
    invitation, token = invite(team)
    org = team.other_org if who == "outsider" else team.org
    response = api_client(getattr(team, who), org).post(f"{LIST}/{invitation.pk}/resend")
    assert response.status_code == status
    assert accept_as_new_user(token).status_code == 201  # still the same, working link


# --- the sender loses the right to invite --------------------------------------------------------


def test_it_kills_invitations_of_an_admin_who_is_removed(team):
    _, token = invite(team, by=team.admin)
    _, owners_token = invite(team, email="kept@example.org", by=team.owner)
    removed = api_client(team.owner, team.org).delete(
        f"/api/organization/members/{team.membership(team.admin).pk}"
    )
    assert removed.status_code == 204
    refused = accept_as_new_user(token)
    assert refused.status_code == 400 and refused.json()["error_code"] == "invalid_token"
    assert accept_as_new_user(owners_token, "kept@example.org").status_code == 201


def test_it_kills_invitations_of_an_admin_who_becomes_a_member(team):
    _, token = invite(team, by=team.admin)
    demoted = api_client(team.owner, team.org).patch(
        f"/api/organization/members/{team.membership(team.admin).pk}",
        {"role": "member"},
        format="json",
    )
    assert demoted.status_code == 200
    assert accept_as_new_user(token).status_code == 400


def test_it_refuses_an_invitation_whose_sender_lost_the_role_by_any_way(team):
    """Also when the role changed outside the services (the admin, the database)."""
    _, token = invite(team, by=team.admin)
    Membership.objects.filter(user=team.admin, organization=team.org).update(role=Role.MEMBER)
    assert Client().get(f"/invitations/{token}/").status_code == 404
    assert accept_as_new_user(token).status_code == 400
    client = page_client(team.outsider)
    accepted = api_client(team.outsider).post(
        "/api/organization/invitations/accept", {"token": token}, format="json"
    )
    assert accepted.status_code == 400
    assert client.get("/").status_code == 200


# --- only from a verified address ----------------------------------------------------------------


def test_it_refuses_invitations_from_an_unverified_address(team):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=team.admin).update(verified=False)
    response = api_client(team.admin, team.org).post(
        LIST, {"email": "a@example.org", "role": "member"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error_code"] == "email_not_verified"
    assert "Verify your email address" in response.json()["error"]
    assert not Invitation.objects.exists()


# --- the Members page ----------------------------------------------------------------------------


def test_it_shows_withdraws_and_resends_invitations_on_the_members_page(team):
    invitation, old_token = invite(team)
    client = page_client(team.admin)
    page = client.get("/organization/members/")
    html = page.content.decode()
    assert "friend@example.org" in html and "Withdraw" in html and "Send again" in html
    assert old_token not in html

    resent = client.post(f"/organization/invitations/{invitation.pk}/resend/", follow=True)
    assert resent.status_code == 200
    assert "no-store" in resent["Cache-Control"]  # the page shows the new link once
    new_token = re.search(r"/invitations/([\w-]+)/", resent.content.decode()).group(1)
    assert new_token != old_token
    assert new_token not in client.get("/organization/members/").content.decode()
    assert accept_as_new_user(old_token).status_code == 400

    withdrawn = client.post(f"/organization/invitations/{invitation.pk}/revoke/")
    assert withdrawn.status_code == 302
    assert accept_as_new_user(new_token).status_code == 400


def test_it_does_not_let_a_member_withdraw_or_resend_from_the_page(team):
    invitation, token = invite(team)
    client = page_client(team.member)
    assert "friend@example.org" not in client.get("/organization/members/").content.decode()
    assert client.post(f"/organization/invitations/{invitation.pk}/revoke/").status_code == 403
    assert client.post(f"/organization/invitations/{invitation.pk}/resend/").status_code == 403
    assert accept_as_new_user(token).status_code == 201


def test_it_answers_404_when_an_outsider_withdraws_from_the_page(team):
    invitation, token = invite(team)
    client = page_client(team.outsider)
    assert client.post(f"/organization/invitations/{invitation.pk}/revoke/").status_code == 404
    assert client.post(f"/organization/invitations/{invitation.pk}/resend/").status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()
