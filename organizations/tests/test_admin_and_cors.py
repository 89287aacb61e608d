import pytest
from django.test import Client

from conftest import api_client
from organizations.models import AuditEvent, Invitation, User
from organizations.services import invitation_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@example.org", password="x"))
    return client


def test_it_shows_every_admin_page_without_invitation_tokens(team, admin_client):
    invitation, token = invitation_create(
        actor=team.membership(team.owner), email="x@example.org", role="member"
    )
    pages = [
        "/admin/organizations/organization/",
        f"/admin/organizations/organization/{team.org.pk}/change/",
        "/admin/organizations/organization/?q=grace",
        "/admin/organizations/membership/",
        "/admin/organizations/invitation/",
        f"/admin/organizations/invitation/{invitation.pk}/change/",
        "/admin/organizations/user/",
        f"/admin/organizations/user/{team.owner.pk}/change/",
        "/admin/organizations/auditevent/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert token not in response.content.decode(), url
    assert "…" + token[-4:] in admin_client.get("/admin/organizations/invitation/").content.decode()


def test_it_keeps_audit_events_read_only_in_the_admin(team, admin_client):
    event = AuditEvent.objects.create(organization=team.org, action="x.y")
    assert (
        admin_client.post(
            f"/admin/organizations/auditevent/{event.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert admin_client.get("/admin/organizations/auditevent/add/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_does_not_let_staff_add_invitations_without_a_token(admin_client):
    assert admin_client.get("/admin/organizations/invitation/add/").status_code == 403
    assert not Invitation.objects.exists()


def test_it_keeps_the_admin_away_from_non_staff(team):
    client = Client()
    client.force_login(team.owner)
    response = client.get("/admin/organizations/organization/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_answers_cors_preflight_for_an_allowed_origin(team, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
    response = Client().options(
        "/api/me",
        HTTP_ORIGIN="https://app.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, x-organization",
    )
    assert response["Access-Control-Allow-Origin"] == "https://app.example.org"
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "x-organization" in allowed


def test_it_sends_no_cors_headers_to_other_origins(team, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
    response = api_client(team.owner).get("/api/me", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_it_answers_unknown_api_paths_with_json(team):
    for path in ("/api/nope", "/api/settings/ai-config/", "/api/auth/token/"):
        response = api_client(team.owner).get(path)
        assert response.status_code == 404, path
        assert response.json()["error_code"] == "not_found"
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and b"Not found" in page.content


def test_it_answers_an_api_crash_with_json_and_a_page_crash_with_html(rf):
    from config.errors import server_error

    api = server_error(rf.get("/api/me"))
    assert api.status_code == 500 and b'"error_code": "server_error"' in api.content
    page = server_error(rf.get("/settings/"))
    assert page.status_code == 500 and b"<h1>" in page.content
