"""The backup key: one more declaration of the shared credential-settings mechanism
(GET/PUT/DELETE /api/settings/ai-config/backup, /test, and a section of the Settings page),
allowed on Pro and Enterprise, tested before it is saved like the main key."""

import pytest
from django.test import Client

from aiconfig.models import AIConfig
from conftest import api_client
from devtools.fakes.providers import VALID_KEYS
from organizations.models import AuditEvent
from plans.models import AIUsage
from plans.tests.conftest import set_plan, store_key

pytestmark = pytest.mark.django_db

URL = "/api/settings/ai-config/backup"
KEY = VALID_KEYS["anthropic"]
BODY = {"provider": "anthropic", "api_key": KEY}


def page(user):
    client = Client()
    client.force_login(user)
    return client


def test_it_saves_a_tested_backup_key_on_pro(team, fake_providers):
    set_plan(team.org, "pro")
    store_key(team.org)
    response = api_client(team.admin).put(URL, BODY, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["api_key_masked"] == "***" + KEY[-4:]
    assert KEY not in response.content.decode()
    backup = AIConfig.objects.get(organization=team.org, slot="backup")
    assert backup.provider == "anthropic" and backup.api_key == KEY
    # The main key is untouched, and each answers on its own URL.
    assert api_client(team.member).get("/api/settings/ai-config").json()["provider"] == "openai"
    got = api_client(team.member).get(URL).json()
    assert got["configured"] is True and got["provider"] == "anthropic"
    assert AuditEvent.objects.filter(action="ai_config.backup_created", actor=team.admin).exists()
    assert AIUsage.objects.get(purpose="key_test").credential == "backup"


def test_it_refuses_a_backup_key_the_provider_refuses(team, fake_providers):
    set_plan(team.org, "pro")
    response = api_client(team.owner).put(
        URL,
        {"provider": "anthropic", "api_key": "sk-ant-api03-WRONG0000000000000000"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_api_key"
    assert not AIConfig.objects.filter(slot="backup").exists()


def test_it_tests_without_saving(team, fake_providers):
    set_plan(team.org, "enterprise")
    response = api_client(team.owner).post(URL + "/test", BODY, format="json")
    assert response.status_code == 200 and response.json()["success"] is True
    assert not AIConfig.objects.filter(slot="backup").exists()


def test_it_keeps_the_backup_key_to_pro_and_enterprise(team, fake_providers):
    response = api_client(team.owner).put(URL, BODY, format="json")
    assert response.status_code == 403
    assert response.json()["error_code"] == "not_in_plan"
    assert api_client(team.owner).post(URL + "/test", BODY, format="json").status_code == 403
    assert fake_providers.requests_for("anthropic") == []
    assert api_client(team.member).get(URL).json()["configured"] is False


def test_it_lets_only_owners_and_admins_change_it(team, fake_providers):
    set_plan(team.org, "pro")
    assert api_client(team.member).put(URL, BODY, format="json").status_code == 403
    assert api_client(team.member).delete(URL).status_code == 403
    assert api_client(team.outsider, team.org).put(URL, BODY, format="json").status_code == 404
    assert api_client(team.outsider, team.org).get(URL).status_code == 404
    assert api_client().get(URL).status_code == 401
    assert not AIConfig.objects.filter(slot="backup").exists()


def test_it_removes_the_backup_key_and_keeps_the_main_one(team, fake_providers):
    set_plan(team.org, "pro")
    store_key(team.org)
    store_key(team.org, slot="backup", provider="anthropic", model="claude-haiku-4-5")
    assert api_client(team.owner).delete(URL).status_code == 204
    assert list(AIConfig.objects.values_list("slot", flat=True)) == ["primary"]
    assert AuditEvent.objects.filter(action="ai_config.backup_deleted").exists()


def test_it_shows_a_backup_section_on_the_settings_page(team, fake_providers):
    html = page(team.owner).get("/settings/").content.decode()
    assert 'id="ai-backup"' in html and "part of the Pro and Enterprise plans" in html
    set_plan(team.org, "pro")
    html = page(team.owner).get("/settings/").content.decode()
    assert 'id="ai-backup"' in html and 'id="ai-backup-api_key"' in html
    assert html.count('id="ai-api_key"') == 1  # ids stay unique on the page
    response = page(team.owner).post(
        "/settings/ai-backup/", {"provider": "anthropic", "api_key": KEY, "action": "save"}
    )
    assert response.status_code == 302
    assert AIConfig.objects.get(slot="backup").provider == "anthropic"
    html = page(team.member).get("/settings/").content.decode()
    assert "***" + KEY[-4:] in html and KEY not in html
    assert 'id="ai-backup-api_key"' not in html  # members read only
