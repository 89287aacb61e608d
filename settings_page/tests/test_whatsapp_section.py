import logging

import pytest
from django.test import Client

from devtools.fakes.graph import (
    EXPIRED_TOKEN,
    OTHER_WABA_ID,
    PHONE_NUMBER_ID,
    VALID_TOKEN,
    WABA_ID,
)
from organizations.models import AuditEvent, User
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db

APP_SECRET = "5e4d3c2b1a09f8e7d6c5b4a392817065"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(user, action, **fields):
    data = {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": WABA_ID,
        "access_token": VALID_TOKEN,
        "app_secret": APP_SECRET,
        "action": action,
    }
    data.update(fields)
    return client_for(user).post("/settings/whatsapp/", data)


def test_it_tests_the_connection_from_the_page_and_saves_nothing(team, fake_graph):
    response = submit(team.owner, "test")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connected to +1 555-096-7852 (Test Number)" in html and "icon-ok" in html
    assert VALID_TOKEN not in html and APP_SECRET not in html
    assert not WhatsAppConfig.objects.exists()


def test_it_shows_a_classified_error_beside_the_field(team, fake_graph):
    response = submit(team.owner, "save", business_account_id=OTHER_WABA_ID)
    assert response.status_code == 400
    html = response.content.decode()
    assert "does not belong to that WhatsApp Business Account" in html
    assert not WhatsAppConfig.objects.exists()


def test_it_saves_and_shows_the_number_mask_and_webhook_to_managers(team, fake_graph):
    assert submit(team.admin, "save").status_code == 302
    html = client_for(team.owner).get("/settings/").content.decode()
    config = WhatsAppConfig.objects.get()
    assert "+1 555-096-7852" in html and "Test Number" in html
    assert "***" + VALID_TOKEN[-4:] in html
    assert f"/webhooks/whatsapp/{config.webhook_id}/" in html
    assert config.webhook_verify_token in html
    assert VALID_TOKEN not in html and APP_SECRET not in html


def test_it_shows_members_the_number_read_only_without_the_verify_token(team, fake_graph):
    submit(team.owner, "save")
    html = client_for(team.member).get("/settings/").content.decode()
    config = WhatsAppConfig.objects.get()
    assert "+1 555-096-7852" in html
    assert config.webhook_verify_token not in html
    assert "Test connection" not in html
    assert submit(team.member, "save", access_token=EXPIRED_TOKEN).status_code == 403
    assert WhatsAppConfig.objects.get().access_token == VALID_TOKEN


def test_it_hides_the_configuration_from_other_organizations(team, fake_graph):
    submit(team.owner, "save")
    html = client_for(team.outsider).get("/settings/").content.decode()
    assert "+1 555-096-7852" not in html
    assert "No WhatsApp number is connected yet" in html


def test_it_removes_after_confirmation(team, fake_graph):
    submit(team.owner, "save")
    client = client_for(team.owner)
    assert b"Remove the WhatsApp configuration?" in client.get("/settings/whatsapp/remove/").content
    client.post("/settings/whatsapp/remove/")
    assert not WhatsAppConfig.objects.exists()
    assert AuditEvent.objects.filter(action="whatsapp_config.deleted").exists()
    assert client_for(team.member).post("/settings/whatsapp/remove/").status_code == 403


def test_it_never_shows_the_token_or_app_secret_in_the_admin(team, fake_graph, caplog):
    caplog.set_level(logging.DEBUG)
    submit(team.owner, "save")
    root = User.objects.create_superuser(email="root@example.org", password="x")
    config = WhatsAppConfig.objects.get()
    client = client_for(root)
    for url in (
        "/admin/whatsapp/whatsappconfig/",
        f"/admin/whatsapp/whatsappconfig/{config.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "***" + VALID_TOKEN[-4:] in html
        assert VALID_TOKEN not in html and APP_SECRET not in html
    assert VALID_TOKEN not in caplog.text and APP_SECRET not in caplog.text


def test_it_saves_the_token_that_was_just_tested_without_pasting_it_again(team, fake_graph):
    import re

    client = client_for(team.owner)
    html = client.post(
        "/settings/whatsapp/",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": APP_SECRET,
            "action": "test",
        },
    ).content.decode()
    assert VALID_TOKEN not in html and APP_SECRET not in html
    ref = re.search(r'name="tested_ref" value="([^"]+)"', html).group(1)
    saved = client.post(
        "/settings/whatsapp/",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": "",
            "app_secret": "",
            "tested_ref": ref,
            "action": "save",
        },
    )
    assert saved.status_code == 302
    config = WhatsAppConfig.objects.get()
    assert config.access_token == VALID_TOKEN and config.app_secret == APP_SECRET


def test_it_refuses_an_unknown_tested_token_reference(team, fake_graph):
    response = client_for(team.owner).post(
        "/settings/whatsapp/",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": "",
            "app_secret": "",
            "tested_ref": "forged",
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert not WhatsAppConfig.objects.exists()
