"""The AI configuration admin: read-only like the WhatsApp one (credentials change only on the
organization's Settings page or through the API, tested first); deleting goes through the
remove service, which audits it."""

import pytest
from django.test import Client

from aiconfig import services
from aiconfig.models import AIConfig, Slot
from devtools.fakes.providers import VALID_KEYS
from organizations import audit
from organizations.models import AuditEvent, Plan, User

pytestmark = pytest.mark.django_db

KEY = VALID_KEYS["gemini"]
BACKUP_KEY = VALID_KEYS["groq"]


@pytest.fixture
def superuser(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@example.org", password="x"))
    return client


@pytest.fixture
def config(team, fake_providers) -> AIConfig:
    return services.ai_config_save(
        membership=team.membership(team.owner), provider="gemini", api_key=KEY
    )


@pytest.fixture
def backup(team, fake_providers, config) -> AIConfig:
    team.org.plan = Plan.PRO
    team.org.save(update_fields=["plan"])
    return services.ai_config_save(
        membership=team.membership(team.owner),
        provider="groq",
        api_key=BACKUP_KEY,
        slot=Slot.BACKUP,
    )


def url(config: AIConfig | None = None, page: str = "change") -> str:
    if config is None:
        return "/admin/aiconfig/aiconfig/"
    return f"/admin/aiconfig/aiconfig/{config.pk}/{page}/"


def test_it_never_shows_the_key_in_the_admin(superuser, config, backup):
    pages = [url()] + [url(c, page) for c in (config, backup) for page in ("change", "delete")]
    pages.append(url(config, "history"))
    for page in pages:
        response = superuser.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert KEY not in html and BACKUP_KEY not in html, page
    assert "***" + KEY[-4:] in superuser.get(url(config)).content.decode()
    listed = superuser.get(url()).content.decode()
    assert "***" + KEY[-4:] in listed and "***" + BACKUP_KEY[-4:] in listed


def test_it_shows_a_configuration_read_only(superuser, team, config):
    html = superuser.get(url(config)).content.decode()
    for field in ("organization", "provider", "model", "base_url", "api_key", "new_api_key"):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html
    assert "Google Gemini" in html  # the provider's label, never its slug alone


def test_it_refuses_to_change_or_add_a_configuration(superuser, team, config):
    data = {"organization": team.other_org.pk, "provider": "groq", "model": "x", "base_url": ""}
    assert superuser.post(url(config), {**data, "new_api_key": BACKUP_KEY}).status_code == 403
    assert superuser.get(url() + "add/").status_code == 403
    stored = AIConfig.objects.get()
    assert (stored.organization, stored.provider, stored.api_key) == (team.org, "gemini", KEY)
    assert not AuditEvent.objects.filter(action=audit.AI_CONFIG_UPDATED).exists()


def test_it_removes_a_configuration_through_the_service_and_audits_it(superuser, team, backup):
    response = superuser.post(url(backup, "delete"), {"post": "yes"})
    assert response.status_code == 302
    assert list(AIConfig.objects.values_list("slot", flat=True)) == [Slot.PRIMARY]
    event = AuditEvent.objects.get(action=audit.AI_BACKUP_CONFIG_DELETED)
    assert event.organization == team.org and event.actor.email == "root@example.org"
    assert event.metadata["api_key"] == "***" + BACKUP_KEY[-4:]


def test_it_removes_selected_configurations_one_by_one_with_an_audit_each(superuser, backup):
    superuser.post(
        url(),
        {
            "action": "delete_selected",
            "_selected_action": list(AIConfig.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert not AIConfig.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {audit.AI_CONFIG_DELETED, audit.AI_BACKUP_CONFIG_DELETED} <= actions


def test_it_tests_selected_configurations_from_the_admin(superuser, fake_providers, config):
    fake_providers.set_scenario("gemini", "rate_limited")
    superuser.post(url(), {"action": "test_selected", "_selected_action": [config.pk]})
    config = AIConfig.objects.get()
    assert config.last_test_ok is False and config.last_error_code == "rate_limited"
