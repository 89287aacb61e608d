import logging

import pytest
from django.db import connection

from conftest import api_client
from devtools.fakes.graph import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    NO_PERMISSION_TOKEN,
    OTHER_WABA_ID,
    PHONE_NUMBER_ID,
    VALID_TOKEN,
    WABA_ID,
)
from organizations.models import AuditEvent
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db

URL = "/api/settings/whatsapp-meta"
TEST_URL = "/api/settings/whatsapp-meta/test"
APP_SECRET = "9f2b7c1d4e6a8b0c2d4f6a8b0c1d3e5f"
CREDENTIALS = {
    "phone_number_id": PHONE_NUMBER_ID,
    "business_account_id": WABA_ID,
    "access_token": VALID_TOKEN,
}


def save(user, payload=None, org=None):
    return api_client(user, org).put(
        URL, payload or {**CREDENTIALS, "app_secret": APP_SECRET}, format="json"
    )


def test_it_answers_not_configured(team):
    assert api_client(team.member).get(URL).json() == {
        "configured": False,
        "phone_number_id": None,
        "business_account_id": None,
        "access_token_masked": None,
    }


def test_it_tests_credentials_and_saves_nothing(team, fake_graph):
    response = api_client(team.admin).post(TEST_URL, CREDENTIALS, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "display_phone_number": "+1 555-096-7852",
        "verified_name": "Test Number",
        "quality_rating": "GREEN",
    }
    assert not WhatsAppConfig.objects.exists()
    assert fake_graph.requests_to("phone")[0].headers["Authorization"] == f"Bearer {VALID_TOKEN}"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"access_token": INVALID_TOKEN}, "invalid_token"),
        ({"access_token": EXPIRED_TOKEN}, "token_expired"),
        ({"access_token": NO_PERMISSION_TOKEN}, "permission_denied"),
        ({"phone_number_id": "999999999999"}, "not_found"),
        ({"business_account_id": OTHER_WABA_ID}, "phone_not_in_account"),
    ],
)
def test_it_classifies_refused_credentials(team, fake_graph, change, code):
    body = api_client(team.owner).post(TEST_URL, {**CREDENTIALS, **change}, format="json").json()
    assert body["success"] is False
    assert body["error_code"] == code
    assert body["error"]
    assert VALID_TOKEN not in str(body) and EXPIRED_TOKEN not in str(body)


@pytest.mark.parametrize("status", [400, 401])
def test_it_classifies_code_190_whatever_the_http_status(team, fake_graph, status):
    fake_graph.invalid_token_status = status
    body = (
        api_client(team.owner)
        .post(TEST_URL, {**CREDENTIALS, "access_token": INVALID_TOKEN}, format="json")
        .json()
    )
    assert body["error_code"] == "invalid_token"


def test_it_says_when_the_number_belongs_to_another_account(team, fake_graph):
    body = (
        api_client(team.owner)
        .post(TEST_URL, {**CREDENTIALS, "business_account_id": OTHER_WABA_ID}, format="json")
        .json()
    )
    assert "does not belong" in body["error"]


def test_it_times_out_on_a_hung_graph(team, fake_graph):
    fake_graph.scenario("phone", "hang")
    body = api_client(team.owner).post(TEST_URL, CREDENTIALS, format="json").json()
    assert body["error_code"] == "timeout"


def test_it_saves_verified_credentials_encrypted_and_masked(team, fake_graph):
    response = save(team.owner)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "WhatsApp configuration saved successfully"
    assert body["access_token_masked"] == "***" + VALID_TOKEN[-4:]
    assert body["display_phone_number"] == "+1 555-096-7852"
    text = response.content.decode()
    assert VALID_TOKEN not in text and APP_SECRET not in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, app_secret FROM whatsapp_whatsappconfig")
        raw_token, raw_secret = (bytes(v) for v in cursor.fetchone())
    assert VALID_TOKEN.encode() not in raw_token and APP_SECRET.encode() not in raw_secret
    config = WhatsAppConfig.objects.get()
    assert config.access_token == VALID_TOKEN and config.app_secret == APP_SECRET


def test_it_shows_the_configuration_to_members_without_the_verify_token(team, fake_graph):
    save(team.owner)
    member_view = api_client(team.member).get(URL).json()
    owner_view = api_client(team.owner).get(URL).json()
    assert member_view["configured"] is True
    assert member_view["verified_name"] == "Test Number"
    assert member_view["webhook_url"].startswith("http://127.0.0.1:8000/webhooks/whatsapp/")
    assert "webhook_verify_token" not in member_view
    config = WhatsAppConfig.objects.get()
    assert owner_view["webhook_verify_token"] == config.webhook_verify_token
    assert config.webhook_id in owner_view["webhook_url"]
    assert team.org.slug not in owner_view["webhook_url"]
    for view in (member_view, owner_view):
        assert VALID_TOKEN not in str(view) and APP_SECRET not in str(view)


def test_it_refuses_to_save_refused_credentials_and_changes_nothing(team, fake_graph):
    save(team.owner)
    before = WhatsAppConfig.objects.get()
    response = save(team.owner, {**CREDENTIALS, "business_account_id": OTHER_WABA_ID})
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error_code"] == "phone_not_in_account"
    after = WhatsAppConfig.objects.get()
    assert after.business_account_id == WABA_ID and after.updated_at == before.updated_at


def test_it_keeps_and_reverifies_the_stored_token(team, fake_graph):
    save(team.owner)
    fake_graph.requests.clear()
    response = save(
        team.admin, {"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}
    )
    assert response.status_code == 200
    assert fake_graph.requests_to("phone")
    config = WhatsAppConfig.objects.get()
    assert config.access_token == VALID_TOKEN and config.app_secret == APP_SECRET


def test_it_refuses_a_save_without_a_token_when_none_is_stored(team, fake_graph):
    response = save(
        team.owner, {"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}
    )
    assert response.status_code == 400
    assert "access_token" in response.json()["fields"]
    assert not fake_graph.requests


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone_number_id": "12ab"}, "phone_number_id"),
        ({"phone_number_id": "1" * 21}, "phone_number_id"),
        ({"phone_number_id": 277321005464405}, "phone_number_id"),
        ({"phone_number_id": "../me"}, "phone_number_id"),
        ({"business_account_id": ""}, "business_account_id"),
        ({"business_account_id": None}, "business_account_id"),
        ({"access_token": "EAA with space"}, "access_token"),
        ({"access_token": "EAA\x07bell"}, "access_token"),
        ({"access_token": "E" * 1025}, "access_token"),
        ({"access_token": 5}, "access_token"),
        ({"app_secret": "has\ttab"}, "app_secret"),
        ({"app_secret": "s" * 1025}, "app_secret"),
    ],
)
def test_it_refuses_bad_input_and_saves_nothing(team, fake_graph, change, field):
    for method, url in (("put", URL), ("post", TEST_URL)):
        response = getattr(api_client(team.owner), method)(
            url, {**CREDENTIALS, **change}, format="json"
        )
        if field == "app_secret" and method == "post":
            continue  # the test endpoint does not take an app secret
        assert response.status_code == 400, (method, change, response.content)
        assert field in response.json()["fields"]
    assert not WhatsAppConfig.objects.exists()
    assert not fake_graph.requests


def test_it_refuses_a_body_that_is_not_json(team, fake_graph):
    response = api_client(team.owner).put(URL, data="{", content_type="application/json")
    assert response.status_code == 400
    assert not WhatsAppConfig.objects.exists()


@pytest.mark.parametrize("who, status", [("member", 403), ("outsider", 404)])
def test_it_lets_only_managers_test_save_and_delete(team, fake_graph, who, status):
    save(team.owner)
    org = team.org if who == "outsider" else None
    client = api_client(getattr(team, who), org)
    assert client.post(TEST_URL, CREDENTIALS, format="json").status_code == status
    assert client.put(URL, CREDENTIALS, format="json").status_code == status
    assert client.delete(URL).status_code == status
    assert WhatsAppConfig.objects.filter(organization=team.org).exists()


def test_it_keeps_organizations_apart(team, fake_graph):
    save(team.owner)
    assert api_client(team.outsider).get(URL).json()["configured"] is False
    assert api_client(team.outsider).delete(URL).status_code == 204
    assert WhatsAppConfig.objects.filter(organization=team.org).exists()


def test_it_records_saves_and_deletes_without_secrets(team, fake_graph):
    save(team.owner)
    assert api_client(team.admin).delete(URL).status_code == 204
    events = list(AuditEvent.objects.filter(action__startswith="whatsapp_config").order_by("id"))
    assert [(e.action, e.actor) for e in events] == [
        ("whatsapp_config.created", team.owner),
        ("whatsapp_config.deleted", team.admin),
    ]
    for event in events:
        assert VALID_TOKEN not in str(event.metadata) and APP_SECRET not in str(event.metadata)
    assert events[0].metadata["access_token"] == "***" + VALID_TOKEN[-4:]


def test_it_throttles_connection_tests(team, fake_graph, settings):
    settings.AI_KEY_TEST_RATE = "2/min"
    client = api_client(team.owner)
    assert client.post(TEST_URL, CREDENTIALS, format="json").status_code == 200
    assert client.post(TEST_URL, CREDENTIALS, format="json").status_code == 200
    response = client.post(TEST_URL, CREDENTIALS, format="json")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_it_never_logs_the_token_or_secret(team, fake_graph, caplog):
    caplog.set_level(logging.DEBUG)
    save(team.owner)
    api_client(team.owner).post(
        TEST_URL, {**CREDENTIALS, "access_token": EXPIRED_TOKEN}, format="json"
    )
    fake_graph.scenario("phone", "server_error")
    api_client(team.owner).post(TEST_URL, CREDENTIALS, format="json")
    for secret in (VALID_TOKEN, EXPIRED_TOKEN, APP_SECRET):
        assert secret not in caplog.text
