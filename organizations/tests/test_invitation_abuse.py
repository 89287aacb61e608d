"""Pending invitations leave expired ones out; INVITATION_RATE counts per sender as well as per
organization, and ORGANIZATION_CREATE_RATE bounds new organizations per user, so that opening
organizations never brings a fresh invitation allowance."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, api_client
from organizations.models import Invitation, Membership, Organization, Role
from organizations.services import invitation_create

pytestmark = pytest.mark.django_db

LIST = "/api/organization/invitations"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite_api(user, org, email):
    return api_client(user, org).post(LIST, {"email": email, "role": "member"}, format="json")


def new_organization_page(client, name):
    return client.post("/organization/new/", {"name": name})


def assert_throttled_json(response):
    assert response.status_code == 429
    assert response.json()["error_code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


# --- pending means not expired -------------------------------------------------------------------


def test_it_leaves_expired_invitations_out_of_the_pending_list(team):
    owner = team.membership(team.owner)
    invitation_create(actor=owner, email="fresh@example.org", role=Role.MEMBER)
    expired, _ = invitation_create(actor=owner, email="expired@example.org", role=Role.MEMBER)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    response = api_client(team.admin, team.org).get(LIST)
    assert response.status_code == 200
    assert [i["email"] for i in response.json()] == ["fresh@example.org"]
    page = page_client(team.owner).get("/organization/members/").content.decode()
    assert "fresh@example.org" in page and "expired@example.org" not in page


# --- INVITATION_RATE per sender ------------------------------------------------------------------


def test_it_counts_invitations_per_sender_across_new_organizations(team, settings):
    settings.INVITATION_RATE = "2/hour"
    assert invite_api(team.owner, team.org, "a@example.org").status_code == 201
    first = Invitation.objects.get(email="a@example.org")
    resent = api_client(team.owner, team.org).post(f"{LIST}/{first.pk}/resend")
    assert resent.status_code == 202  # a resend sends an email too

    # A new organization is a new per-organization count, but not a new sender.
    client = page_client(team.owner)
    assert new_organization_page(client, "Fresh Start").status_code == 302
    fresh = Organization.objects.get(name="Fresh Start")
    refused = invite_api(team.owner, fresh, "b@example.org")
    assert_throttled_json(refused)
    page = client.post("/organization/members/", {"email": "c@example.org", "role": "member"})
    assert "Too many requests" in page.content.decode()
    assert not Invitation.objects.filter(organization=fresh).exists()

    # Another user is not affected, in the new organization as in their own.
    Membership.objects.create(user=team.admin, organization=fresh, role=Role.ADMIN)
    assert invite_api(team.admin, fresh, "d@example.org").status_code == 201
    assert invite_api(team.outsider, team.other_org, "e@example.org").status_code == 201


# --- ORGANIZATION_CREATE_RATE --------------------------------------------------------------------


def test_it_limits_new_organizations_per_user_on_the_page(team, settings):
    settings.ORGANIZATION_CREATE_RATE = "2/day"
    client = page_client(team.owner)
    assert new_organization_page(client, "First Plant").status_code == 302
    assert new_organization_page(client, "Second Plant").status_code == 302

    refused = new_organization_page(client, "Third Plant")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    body = refused.content.decode()
    assert "Too many requests" in body and 'name="name"' in body  # beside the form
    assert not Organization.objects.filter(name="Third Plant").exists()

    # Another user is not affected.
    assert new_organization_page(page_client(team.admin), "Admin Plant").status_code == 302
    assert Membership.objects.get(organization__name="Admin Plant").user == team.admin


def test_it_counts_the_organization_of_an_api_sign_up_on_the_same_limit(db, settings):
    settings.ORGANIZATION_CREATE_RATE = "1/day"
    registered = api_client().post(
        "/api/auth/register",
        {"email": "new.owner@example.org", "password": PASSWORD, "organization_name": "Mine"},
        format="json",
    )
    assert registered.status_code == 201
    owner = Membership.objects.get(organization__name="Mine").user
    assert owner.email == "new.owner@example.org"

    refused = new_organization_page(page_client(owner), "Another One")
    assert refused.status_code == 429
    assert not Organization.objects.filter(name="Another One").exists()
