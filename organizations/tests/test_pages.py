import re

import pytest
from django.core import mail
from django.test import Client

from conftest import PASSWORD, make_user
from organizations import selectors
from organizations.models import AuditEvent, Invitation, Membership, Organization, Role, User
from organizations.services import invitation_create

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_it_logs_in_with_email_and_password(team):
    response = Client().post(
        "/accounts/login/", {"login": "OWNER@grace.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_shows_a_form_error_for_a_wrong_password(team):
    response = Client().post("/accounts/login/", {"login": "owner@grace.test", "password": "nope"})
    assert response.status_code == 200
    assert b"email address and/or password you specified are not correct" in response.content


def test_it_gives_the_same_answer_for_an_unknown_email_and_a_wrong_password(team):
    known = Client().post("/accounts/login/", {"login": "owner@grace.test", "password": "nope"})
    unknown = Client().post("/accounts/login/", {"login": "nobody@grace.test", "password": "nope"})
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.content.decode())  # noqa: E731
    assert strip(known) == strip(unknown)


def test_it_logs_out_only_by_post(team):
    client = client_for(team.owner)
    confirm = client.get("/accounts/logout/")
    assert confirm.status_code == 200  # a page asking to confirm, which logs nobody out
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_it_registers_a_user_and_their_organization():
    mail.outbox.clear()
    client = Client()
    response = client.post(
        "/accounts/register/",
        {"email": "pastor@example.org", "password1": PASSWORD, "organization_name": "New Life"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="pastor@example.org")
    assert Membership.objects.get(user=user).role == Role.OWNER
    page = client.get("/")
    assert b"New Life" in page.content
    # One verification email, whose link verifies the address.
    assert len(mail.outbox) == 1
    link = re.search(r"http://127.0.0.1:8000(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    assert not selectors.email_verified(user)
    assert client.post(link.group(1)).status_code == 302
    assert selectors.email_verified(user)


def test_it_shows_registration_errors_beside_the_fields(team):
    response = Client().post(
        "/accounts/register/",
        {"email": "new@grace.test", "password1": "123", "organization_name": ""},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field has-error"' in html
    assert "This field is required." in html
    assert Organization.objects.count() == 2


def test_it_sends_a_password_reset_link(team):
    mail.outbox.clear()
    response = Client().post("/accounts/password/reset/", {"email": "member@grace.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://127.0.0.1:8000(/accounts/password/reset/key/\S+/)", mail.outbox[0].body
    )
    client = Client()
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"password1": "An0ther-Sturdy-pass", "password2": "An0ther-Sturdy-pass"},
    )
    assert done.status_code == 302
    assert User.objects.get(email="member@grace.test").check_password("An0ther-Sturdy-pass")


def test_it_answers_a_password_reset_for_an_unknown_email_as_for_a_known_one(team):
    mail.outbox.clear()
    known = Client().post("/accounts/password/reset/", {"email": "member@grace.test"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@grace.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [["member@grace.test"]]


def make_invitation(team, email="friend@example.org", role=Role.MEMBER):
    invitation, token = invitation_create(actor=team.membership(team.owner), email=email, role=role)
    return invitation, token


def test_it_lets_a_new_user_register_through_an_invitation_page(team):
    _, token = make_invitation(team, role=Role.ADMIN)
    client = Client()
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert b"friend@example.org" in page.content
    response = client.post(f"/invitations/{token}/", {"password": PASSWORD})
    assert response.status_code == 302
    assert (
        Membership.objects.get(user__email="friend@example.org", organization=team.org).role
        == Role.ADMIN
    )
    assert client.get(f"/invitations/{token}/").status_code == 404


def test_it_lets_a_logged_in_user_accept_an_invitation_page(team):
    _, token = make_invitation(team, email="outsider@hope.test")
    client = client_for(team.outsider)
    assert b"Accept the invitation" in client.get(f"/invitations/{token}/").content
    assert client.post(f"/invitations/{token}/").status_code == 302
    assert team.membership(team.outsider).role == Role.MEMBER


def test_it_does_not_let_another_logged_in_user_take_an_invitation(team):
    _, token = make_invitation(team, email="friend@example.org")
    client = client_for(team.outsider)
    client.post(f"/invitations/{token}/")
    assert not Membership.objects.filter(user=team.outsider, organization=team.org).exists()
    assert Invitation.objects.get().accepted_at is None


def test_it_answers_404_to_an_unknown_invitation():
    assert Client().get("/invitations/nothing-here/").status_code == 404


def test_it_redirects_anonymous_visitors_to_login(team):
    for url in (
        "/",
        "/organization/members/",
        "/organization/activity/",
        "/settings/",
        "/messages/",
    ):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("who, can_invite", [("owner", True), ("admin", True), ("member", False)])
def test_it_shows_the_invite_form_only_to_managers(team, who, can_invite):
    page = client_for(getattr(team, who)).get("/organization/members/")
    assert page.status_code == 200
    assert (b"Send invitation" in page.content) == can_invite
    assert b"member@grace.test" in page.content
    assert b"outsider@hope.test" not in page.content


def test_it_invites_from_the_members_page_and_shows_the_link_once(team):
    client = client_for(team.admin)
    response = client.post("/organization/members/", {"email": "new@grace.test", "role": "member"})
    assert response.status_code == 302
    assert Invitation.objects.filter(organization=team.org, email="new@grace.test").exists()
    page = client.get("/organization/members/").content.decode()
    link = re.search(r"http://127\.0\.0\.1:8000(/invitations/[^/\s]+/)", page).group(1)
    assert Client().get(link).status_code == 200
    assert link not in client.get("/organization/members/").content.decode()
    assert all(link not in cookie.value for cookie in response.cookies.values())


def test_it_refuses_an_invitation_from_a_member_page_post(team):
    client_for(team.member).post(
        "/organization/members/", {"email": "new@grace.test", "role": "member"}
    )
    assert not Invitation.objects.exists()


def test_it_shows_invitation_errors_beside_the_field(team):
    response = client_for(team.owner).post(
        "/organization/members/", {"email": "member@grace.test", "role": "member"}
    )
    assert response.status_code == 200
    assert b"already a member" in response.content


def test_it_changes_roles_and_removes_members_from_the_page(team):
    client = client_for(team.owner)
    member_id = team.membership(team.member).pk
    client.post(f"/organization/members/{member_id}/role/", {"role": "admin"})
    assert team.membership(team.member).role == Role.ADMIN
    client.post(f"/organization/members/{member_id}/remove/")
    assert not Membership.objects.filter(user=team.member, organization=team.org).exists()


def test_it_does_not_let_a_member_change_roles_from_the_page(team):
    admin_id = team.membership(team.admin).pk
    client_for(team.member).post(f"/organization/members/{admin_id}/role/", {"role": "member"})
    client_for(team.member).post(f"/organization/members/{admin_id}/remove/")
    assert team.membership(team.admin).role == Role.ADMIN


def test_it_answers_404_when_an_outsider_posts_to_another_organizations_member(team):
    member_id = team.membership(team.member).pk
    response = client_for(team.outsider).post(f"/organization/members/{member_id}/remove/")
    assert response.status_code == 404
    assert Membership.objects.filter(user=team.member, organization=team.org).exists()


@pytest.mark.parametrize("who, status", [("owner", 200), ("admin", 200), ("member", 403)])
def test_it_shows_activity_only_to_managers(team, who, status):
    make_invitation(team)
    response = client_for(getattr(team, who)).get("/organization/activity/")
    assert response.status_code == status
    if status == 200:
        assert b"owner@grace.test invited friend@example.org as Member." in response.content


def test_it_shows_only_this_organizations_activity(team):
    AuditEvent.objects.create(organization=team.other_org, action="secret.other.thing")
    response = client_for(team.owner).get("/organization/activity/")
    assert b"secret other thing" not in response.content


def test_it_switches_organization_from_the_navigation(team):
    Membership.objects.create(user=team.member, organization=team.other_org, role=Role.ADMIN)
    client = client_for(team.member)
    assert b"Grace Church" in client.get("/").content
    client.post("/organization/switch/", {"organization": "hope-chapel"})
    home = client.get("/")
    assert b"<h1>Hope Chapel</h1>" in home.content


def test_it_refuses_to_switch_to_an_organization_the_user_is_not_in(team):
    client = client_for(team.outsider)
    assert client.post("/organization/switch/", {"organization": "grace-church"}).status_code == 404
    assert b"<h1>Hope Chapel</h1>" in client.get("/").content


def test_it_sends_a_user_without_organization_to_create_one(db):
    user = make_user("loner@example.org")
    client = client_for(user)
    response = client.get("/organization/members/")
    assert response.status_code == 302 and response["Location"] == "/organization/new/"
    client.post("/organization/new/", {"name": "Fresh Start"})
    assert Membership.objects.get(user=user).organization.name == "Fresh Start"


def test_it_serves_static_files_locally_without_any_cdn(team):
    html = client_for(team.owner).get("/").content.decode()
    assert "/static/css/app.css" in html
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")


def test_it_explains_an_expired_form_without_inline_styles(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    response = client.post("/organization/members/", {"email": "x@grace.test", "role": "member"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form expired" in html
    assert "<style" not in html
    assert not Invitation.objects.exists()
