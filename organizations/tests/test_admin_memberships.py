"""The admin keeps the API's rules for memberships: an organization keeps an owner, and every
change goes through the services (so it is audited)."""

import pytest
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client, RequestFactory

from organizations.models import AuditEvent, Membership, Role, User

pytestmark = pytest.mark.django_db


def change_url(membership):
    return f"/admin/organizations/membership/{membership.pk}/change/"


def events(action):
    return list(AuditEvent.objects.filter(action=action))


def test_it_refuses_to_demote_the_last_owner(team, admin_client):
    owner = team.membership(team.owner)
    response = admin_client.post(change_url(owner), {"role": "admin"})
    assert response.status_code == 200
    assert "An organization needs at least one owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert events("membership.role_changed") == []


def test_it_changes_a_role_through_the_service_and_audits_it(team, admin_client, admin_user):
    member = team.membership(team.member)
    response = admin_client.post(change_url(member), {"role": "admin"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ADMIN
    (event,) = events("membership.role_changed")
    assert event.actor == admin_user and event.organization == team.org
    assert event.target == team.member.email
    assert event.metadata == {"from": "member", "to": "admin", "via": "admin"}


def test_it_lets_the_owner_go_once_there_is_another(team, admin_client):
    admin_client.post(change_url(team.membership(team.admin)), {"role": "owner"})
    response = admin_client.post(change_url(team.membership(team.owner)), {"role": "member"})
    assert response.status_code == 302
    assert team.membership(team.owner).role == Role.MEMBER


def test_it_keeps_who_and_where_fixed_on_change(team, admin_client):
    member = team.membership(team.member)
    admin_client.post(
        change_url(member), {"role": "member", "user": team.outsider.pk, "organization": 999}
    )
    member.refresh_from_db()
    assert member.user == team.member and member.organization == team.org


def test_it_refuses_to_remove_the_last_owner(team, admin_client):
    owner = team.membership(team.owner)
    response = admin_client.post(
        f"/admin/organizations/membership/{owner.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "Did not remove owner@grace.test from Grace Church" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert events("membership.removed") == []


def test_it_removes_a_member_through_the_service_and_audits_it(team, admin_client, admin_user):
    member = team.membership(team.member)
    response = admin_client.post(
        f"/admin/organizations/membership/{member.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "Removed member@grace.test from Grace Church." in response.content.decode()
    assert not Membership.objects.filter(pk=member.pk).exists()
    (event,) = events("membership.removed")
    assert event.actor == admin_user and event.metadata == {"role": "member", "via": "admin"}


def test_it_removes_in_bulk_through_the_service_only(team, admin_client):
    chosen = [team.membership(team.owner).pk, team.membership(team.member).pk]
    response = admin_client.post(
        "/admin/organizations/membership/",
        {"action": "remove_selected", "_selected_action": chosen},
        follow=True,
    )
    html = response.content.decode()
    assert "Did not remove owner@grace.test" in html
    assert "Removed member@grace.test" in html
    assert Membership.objects.filter(user=team.owner, organization=team.org).exists()
    assert not Membership.objects.filter(user=team.member, organization=team.org).exists()
    # Django's own bulk delete would skip the rules: it is not offered.
    page = admin_client.get("/admin/organizations/membership/").content.decode()
    assert 'value="delete_selected"' not in page


def test_it_adds_a_member_through_the_service_and_audits_it(team, admin_client, admin_user):
    response = admin_client.post(
        "/admin/organizations/membership/add/",
        {"user": team.outsider.pk, "organization": team.org.pk, "role": "member"},
    )
    assert response.status_code == 302
    assert team.membership(team.outsider).role == Role.MEMBER
    (event,) = events("membership.added")
    assert event.actor == admin_user and event.target == team.outsider.email

    again = admin_client.post(
        "/admin/organizations/membership/add/",
        {"user": team.outsider.pk, "organization": team.org.pk, "role": "admin"},
    )
    assert again.status_code == 200
    assert "Membership with this User and Organization already exists." in again.content.decode()
    assert len(events("membership.added")) == 1


def test_it_shows_members_read_only_on_the_organization_page(team, admin_client):
    page = admin_client.get(f"/admin/organizations/organization/{team.org.pk}/change/")
    html = page.content.decode()
    assert "owner@grace.test" in html
    assert 'name="memberships-0-role"' not in html  # no role field to edit inline


def test_it_refuses_to_delete_the_last_owners_account(team, admin_client):
    response = admin_client.post(
        f"/admin/organizations/user/{team.owner.pk}/delete/", {"post": "yes"}
    )
    assert "owner@grace.test is the only owner of Grace Church" in response.content.decode()
    assert User.objects.filter(pk=team.owner.pk).exists()


def make_co_owner(team):
    Membership.objects.filter(user=team.admin, organization=team.org).update(role=Role.OWNER)


def test_it_refuses_to_delete_every_owner_of_an_organization_at_once(team, admin_client):
    make_co_owner(team)
    response = admin_client.post(
        "/admin/organizations/user/",
        {
            "action": "delete_selected",
            "_selected_action": [team.owner.pk, team.admin.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 200
    assert (
        "admin@grace.test and owner@grace.test are the only owners of Grace Church"
        in response.content.decode()
    )
    assert User.objects.filter(pk__in=[team.owner.pk, team.admin.pk]).count() == 2
    assert events("membership.removed") == []


def test_it_deletes_one_of_two_co_owners(team, admin_client):
    make_co_owner(team)
    response = admin_client.post(
        f"/admin/organizations/user/{team.owner.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=team.owner.pk).exists()
    assert team.membership(team.admin).role == Role.OWNER


def test_it_shows_a_refused_deletion_as_an_error_rather_than_a_500(team, admin_user):
    # The owners changed between the confirmation page and the deletion: the services refuse.
    make_co_owner(team)
    request = RequestFactory().post("/admin/organizations/user/")
    request.user = admin_user
    request._messages = CookieStorage(request)
    model_admin = admin.site._registry[User]

    model_admin.delete_queryset(request, User.objects.filter(pk__in=[team.owner.pk, team.admin.pk]))
    model_admin.message_user(request, "Successfully deleted 2 users.", messages.SUCCESS)

    (shown,) = request._messages  # the error only, no "Successfully deleted"
    assert shown.level == messages.ERROR
    assert shown.message.startswith("Deleted no account: An organization needs at least one")
    assert User.objects.filter(pk__in=[team.owner.pk, team.admin.pk]).count() == 2
    assert Membership.objects.filter(organization=team.org, role=Role.OWNER).count() == 2
    assert events("membership.removed") == []
    assert not LogEntry.objects.exists()


def test_it_audits_the_memberships_a_deleted_account_ends(team, admin_client):
    response = admin_client.post(
        f"/admin/organizations/user/{team.member.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=team.member.pk).exists()
    (event,) = events("membership.removed")
    assert event.target == "member@grace.test" and event.organization == team.org


def test_it_keeps_staff_without_the_permission_out(team):
    clerk = User.objects.create_user(email="clerk@example.org", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_membership"))
    client = Client()
    client.force_login(clerk)
    member = team.membership(team.member)
    assert client.get(change_url(member)).status_code == 200  # may look
    assert client.post(change_url(member), {"role": "owner"}).status_code == 403
    assert client.post(
        f"/admin/organizations/membership/{member.pk}/delete/", {"post": "yes"}
    ).status_code in (302, 403)
    member.refresh_from_db()
    assert member.role == Role.MEMBER and Membership.objects.filter(pk=member.pk).exists()


def test_it_keeps_members_of_an_organization_out_of_the_admin(team):
    client = Client()
    client.force_login(team.owner)
    response = client.get(change_url(team.membership(team.member)))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_names_the_admin_after_the_product(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Church Messaging administration" in html
    assert "Django administration" not in html
