"""`Cache-Control: no-store` on the responses that carry the WhatsApp webhook's verify token:
the settings API (read and save) and the Settings page."""

import pytest
from django.test import Client

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from whatsapp import services as whatsapp_services

pytestmark = pytest.mark.django_db

URL = "/api/settings/whatsapp-meta"
CONNECTION = {"phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}


@pytest.fixture
def connected(team, fake_graph):
    config = whatsapp_services.whatsapp_config_save(
        membership=team.membership(team.owner), **CONNECTION, access_token=VALID_TOKEN
    )
    team.verify_token = config.webhook_verify_token
    return team


def assert_no_store(response, verify_token):
    assert response.status_code == 200, response.content
    assert verify_token in response.content.decode()  # the response does carry it
    assert "no-store" in response["Cache-Control"]


def test_it_forbids_storing_the_whatsapp_settings_read(connected):
    response = api_client(connected.owner).get(URL)
    assert_no_store(response, connected.verify_token)


def test_it_forbids_storing_the_whatsapp_settings_saved(connected, fake_graph):
    response = api_client(connected.owner).put(
        URL, {**CONNECTION, "access_token": VALID_TOKEN}, format="json"
    )
    assert_no_store(response, connected.verify_token)


def test_it_forbids_storing_the_settings_page(connected):
    page = Client()
    page.force_login(connected.owner)
    response = page.get("/settings/")
    assert_no_store(response, connected.verify_token)


def test_it_leaves_responses_without_a_secret_cacheable_as_before(connected):
    response = api_client(connected.member).get("/api/me")
    assert "no-store" not in response.get("Cache-Control", "")
