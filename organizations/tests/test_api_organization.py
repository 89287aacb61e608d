import pytest

from conftest import api_client, make_user
from organizations.models import AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db


# --- X-Organization rules -------------------------------------------------------------


def test_it_uses_the_only_membership_without_the_header(team):
    response = api_client(team.member).get("/api/organization/members")
    assert response.status_code == 200
    assert {m["email"] for m in response.json()} == {
        "owner@grace.test",
        "admin@grace.test",
        "member@grace.test",
    }


def test_it_asks_for_the_header_when_the_user_has_several_organizations(team):
    Membership.objects.create(user=team.member, organization=team.other_org, role=Role.MEMBER)
    response = api_client(team.member).get("/api/organization/members")
    assert response.status_code == 400
    assert "X-Organization" in response.json()["error"]
    assert response.json()["error_code"] == "organization_required"


def test_it_acts_for_the_organization_named_in_the_header(team):
    Membership.objects.create(user=team.member, organization=team.other_org, role=Role.MEMBER)
    response = api_client(team.member, "hope-chapel").get("/api/organization/members")
    assert response.status_code == 200
    assert "outsider@hope.test" in {m["email"] for m in response.json()}


def test_it_answers_404_for_an_organization_the_user_is_not_in(team):
    existing = api_client(team.outsider, "grace-church").get("/api/organization/members")
    missing = api_client(team.outsider, "no-such-church").get("/api/organization/members")
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()
    assert missing.json()["error_code"] == "organization_not_found"


def test_it_answers_403_to_a_user_without_organizations(team):
    loner = make_user("loner@example.org")
    response = api_client(loner).get("/api/organization/members")
    assert response.status_code == 403
    assert response.json()["error_code"] == "no_organization"


def test_it_answers_401_to_anonymous_member_requests(team):
    assert api_client().get("/api/organization/members").status_code == 401
    assert api_client().post("/api/organization/invitations", {}, format="json").status_code == 401


# --- invitations -------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("owner", 201), ("admin", 201), ("member", 403)])
def test_it_lets_only_owners_and_admins_invite(team, who, status):
    response = api_client(getattr(team, who), team.org).post(
        "/api/organization/invitations", {"email": "x@grace.test", "role": "member"}, format="json"
    )
    assert response.status_code == status
    assert Invitation.objects.exists() == (status == 201)


def test_it_does_not_let_an_outsider_invite_into_another_organization(team):
    response = api_client(team.outsider, team.org).post(
        "/api/organization/invitations", {"email": "x@grace.test", "role": "member"}, format="json"
    )
    assert response.status_code == 404
    assert not Invitation.objects.filter(organization=team.org).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "x@grace.test", "role": "owner"},
        {"email": "x@grace.test", "role": 1},
        {"email": "nope", "role": "member"},
        {"email": "member@grace.test", "role": "member"},
        {},
    ],
)
def test_it_refuses_bad_invitations(team, payload):
    response = api_client(team.owner).post("/api/organization/invitations", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert not Invitation.objects.exists()


def test_it_lets_an_existing_user_accept_an_invitation(team):
    token = (
        api_client(team.owner)
        .post(
            "/api/organization/invitations",
            {"email": "outsider@hope.test", "role": "admin"},
            format="json",
        )
        .json()["token"]
    )
    response = api_client(team.outsider).post(
        "/api/organization/invitations/accept", {"token": token}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["organization"]["slug"] == "grace-church"
    assert team.membership(team.outsider).role == Role.ADMIN
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=team.outsider).exists()


def test_it_does_not_let_someone_else_accept_an_invitation(team):
    token = (
        api_client(team.owner)
        .post(
            "/api/organization/invitations",
            {"email": "friend@hope.test", "role": "admin"},
            format="json",
        )
        .json()["token"]
    )
    response = api_client(team.outsider).post(
        "/api/organization/invitations/accept", {"token": token}, format="json"
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(user=team.outsider, organization=team.org).exists()


def test_it_refuses_an_unknown_invitation_token(team):
    response = api_client(team.outsider).post(
        "/api/organization/invitations/accept", {"token": "made-up"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_token"


# --- members -------------------------------------------------------------------------------


def member_id(team, user):
    return team.membership(user).pk


def test_it_lists_members_with_their_roles(team):
    rows = api_client(team.member).get("/api/organization/members").json()
    assert set(rows[0]) == {"id", "email", "role", "joined_at"}
    assert {r["email"]: r["role"] for r in rows}["admin@grace.test"] == "admin"


@pytest.mark.parametrize("who, status", [("owner", 200), ("admin", 200), ("member", 403)])
def test_it_lets_owners_and_admins_change_a_members_role(team, who, status):
    target = make_user("extra@grace.test")
    membership = Membership.objects.create(user=target, organization=team.org, role=Role.MEMBER)
    response = api_client(getattr(team, who)).patch(
        f"/api/organization/members/{membership.pk}", {"role": "admin"}, format="json"
    )
    assert response.status_code == status
    membership.refresh_from_db()
    assert membership.role == (Role.ADMIN if status == 200 else Role.MEMBER)


def test_it_does_not_let_an_admin_demote_or_remove_an_owner(team):
    owner_id = member_id(team, team.owner)
    client = api_client(team.admin)
    assert (
        client.patch(
            f"/api/organization/members/{owner_id}", {"role": "member"}, format="json"
        ).status_code
        == 403
    )
    assert client.delete(f"/api/organization/members/{owner_id}").status_code == 403
    assert team.membership(team.owner).role == Role.OWNER


def test_it_does_not_let_an_admin_make_an_owner(team):
    response = api_client(team.admin).patch(
        f"/api/organization/members/{member_id(team, team.member)}",
        {"role": "owner"},
        format="json",
    )
    assert response.status_code == 403
    assert team.membership(team.member).role == Role.MEMBER


def test_it_keeps_the_last_owner(team):
    owner_id = member_id(team, team.owner)
    client = api_client(team.owner)
    demote = client.patch(f"/api/organization/members/{owner_id}", {"role": "admin"}, format="json")
    assert demote.status_code == 400
    assert demote.json()["error_code"] == "last_owner"
    leave = client.delete(f"/api/organization/members/{owner_id}")
    assert leave.status_code == 400
    assert team.membership(team.owner).role == Role.OWNER


def test_it_lets_an_owner_leave_when_another_owner_remains(team):
    client = api_client(team.owner)
    assert (
        client.patch(
            f"/api/organization/members/{member_id(team, team.admin)}",
            {"role": "owner"},
            format="json",
        ).status_code
        == 200
    )
    assert (
        client.delete(f"/api/organization/members/{member_id(team, team.owner)}").status_code == 204
    )
    assert not Membership.objects.filter(user=team.owner, organization=team.org).exists()


def test_it_lets_a_member_leave_but_not_remove_others(team):
    client = api_client(team.member)
    assert (
        client.delete(f"/api/organization/members/{member_id(team, team.admin)}").status_code == 403
    )
    assert (
        client.delete(f"/api/organization/members/{member_id(team, team.member)}").status_code
        == 204
    )
    assert AuditEvent.objects.filter(action="membership.left").exists()


def test_it_lets_an_admin_remove_a_member_and_records_it(team):
    response = api_client(team.admin).delete(
        f"/api/organization/members/{member_id(team, team.member)}"
    )
    assert response.status_code == 204
    event = AuditEvent.objects.get(action="membership.removed")
    assert event.actor == team.admin and event.target == "member@grace.test"
    assert event.organization == team.org


def test_it_hides_members_of_other_organizations(team):
    outsider_membership = Membership.objects.get(user=team.outsider)
    client = api_client(team.owner)
    assert (
        client.patch(
            f"/api/organization/members/{outsider_membership.pk}", {"role": "member"}, format="json"
        ).status_code
        == 404
    )
    assert client.delete(f"/api/organization/members/{outsider_membership.pk}").status_code == 404
    assert client.delete("/api/organization/members/abc").status_code == 404
    member_id = team.membership(team.member).pk
    assert client.delete(f"/api/organization/members/%20{member_id}").status_code == 404
    assert Membership.objects.get(user=team.outsider).role == Role.OWNER


def test_it_refuses_a_bad_role(team):
    response = api_client(team.owner).patch(
        f"/api/organization/members/{member_id(team, team.member)}", {"role": "pope"}, format="json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_it_checks_the_actors_current_role_not_a_stale_copy(team):
    from common.errors import NotAllowed
    from organizations.services import membership_remove

    actor = team.membership(team.admin)  # loaded while still an admin...
    Membership.objects.filter(pk=actor.pk).update(role=Role.MEMBER)  # ...demoted meanwhile
    with pytest.raises(NotAllowed):
        membership_remove(actor=actor, membership=team.membership(team.member))
    assert Membership.objects.filter(user=team.member, organization=team.org).exists()
