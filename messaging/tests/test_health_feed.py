"""Drafts and sends are attempted while a credential needs attention; what they learn feeds
the credential's health, and a success clears it."""

import pytest

from aiconfig.models import AIConfig
from conftest import api_client
from devtools.fakes.graph import VALID_TOKEN
from devtools.fakes.providers import VALID_KEYS
from messaging.tests import test_messages
from organizations.credential_health import CLEARED
from organizations.models import AuditEvent
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db

GENERATE, SEND = test_messages.GENERATE, test_messages.SEND
configured = test_messages.configured  # the fixture: both integrations connected


def draft(team):
    return api_client(team.member).post(GENERATE, {"prompt": "Hello"}, format="json")


def send(team):
    return api_client(team.member).post(SEND, {"to": "+15551234567", "text": "Hi"}, format="json")


def test_draft_failures_feed_the_key_health_and_a_draft_clears_it(configured, fake_providers):
    fake_providers.revoke_key(VALID_KEYS["openai"])
    assert draft(configured).status_code == 502
    assert AIConfig.objects.get(organization=configured.org).health_status == "failing"
    assert draft(configured).status_code == 502  # still attempted
    config = AIConfig.objects.get(organization=configured.org)
    assert config.health_status == "needs_attention" and config.consecutive_auth_failures == 2

    fake_providers.restore_key(VALID_KEYS["openai"])
    assert draft(configured).status_code == 200
    config.refresh_from_db()
    assert config.health_status == "ok" and config.consecutive_auth_failures == 0
    assert AuditEvent.objects.filter(action=CLEARED, organization=configured.org).exists()


def test_a_transient_draft_failure_marks_failing_only(configured, fake_providers):
    fake_providers.set_scenario("openai", "server_error")
    draft(configured)
    config = AIConfig.objects.get(organization=configured.org)
    assert config.health_status == "failing" and config.consecutive_auth_failures == 0


def test_send_failures_feed_the_token_health_and_a_send_clears_it(configured, fake_graph):
    fake_graph.expire_token(VALID_TOKEN)
    assert send(configured).status_code == 502
    assert send(configured).status_code == 502
    config = WhatsAppConfig.objects.get(organization=configured.org)
    assert config.health_status == "needs_attention" and config.last_error_code == "token_expired"

    fake_graph.tokens[VALID_TOKEN] = "valid"
    assert send(configured).status_code == 200
    config.refresh_from_db()
    assert config.health_status == "ok"


def test_a_recipient_problem_says_nothing_about_the_token(configured, fake_graph):
    fake_graph.scenario("send", "outside_window")
    send(configured)
    send(configured)
    assert WhatsAppConfig.objects.get(organization=configured.org).health_status == "ok"


def test_a_send_does_not_clear_a_flagged_number(configured, fake_graph):
    WhatsAppConfig.objects.update(
        health_status="needs_attention", last_error_code="number_flagged", number_status="FLAGGED"
    )
    assert send(configured).status_code == 200
    assert WhatsAppConfig.objects.get(organization=configured.org).health_status == (
        "needs_attention"
    )
