"""Health of the stored WhatsApp token and number: the periodic check, Meta's health webhooks,
the token's expiry, what clears the state."""

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from devtools.fakes.graph import (
    APP_ID,
    APP_SECRET,
    NEW_TOKEN,
    PHONE_NUMBER_ID,
    VALID_TOKEN,
    WABA_ID,
)
from organizations.audit import CREDENTIAL_HEALTH_CLEARED as CLEARED
from organizations.audit import CREDENTIAL_NEEDS_ATTENTION as NEEDS_ATTENTION
from organizations.audit import WHATSAPP_TOKEN_EXPIRING
from organizations.models import AuditEvent
from whatsapp import events, health, services, tasks
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db(transaction=True)


def save_token(team, token=VALID_TOKEN, **extra):
    return services.whatsapp_config_save(
        membership=team.membership(team.owner),
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=token,
        **extra,
    )


def run_round():
    WhatsAppConfig.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    tasks.whatsapp_health_round()


def test_it_turns_an_expired_token_into_needs_attention_after_two_rounds(team, fake_graph):
    save_token(team)
    mail.outbox.clear()
    fake_graph.expire_token(VALID_TOKEN)

    run_round()
    config = WhatsAppConfig.objects.get()
    assert config.health_status == "failing" and config.consecutive_auth_failures == 1
    assert config.last_error_code == "token_expired" and mail.outbox == []

    run_round()
    config.refresh_from_db()
    assert config.health_status == "needs_attention"
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@grace.test", "owner@grace.test"]
    assert "WhatsApp connection" in mail.outbox[0].subject
    assert "expired or was revoked" in mail.outbox[0].body
    assert VALID_TOKEN not in mail.outbox[0].body
    run_round()
    assert len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action=NEEDS_ATTENTION, target="WhatsApp connection").count()

    save_token(team, NEW_TOKEN)
    config.refresh_from_db()
    assert config.health_status == "ok" and config.consecutive_auth_failures == 0
    assert AuditEvent.objects.filter(action=CLEARED).count() == 1


def test_it_reads_the_number_health_fields_with_the_stored_token(team, fake_graph):
    save_token(team)
    fake_graph.set_number(
        PHONE_NUMBER_ID,
        whatsapp_business_manager_messaging_limit="TIER_10K",
        throughput={"level": "HIGH"},
    )
    run_round()
    request = fake_graph.requests_to("phone")[-1]
    assert request.headers["Authorization"] == f"Bearer {VALID_TOKEN}"
    assert request.query["fields"] == [
        "display_phone_number,verified_name,quality_rating,status,name_status,"
        "whatsapp_business_manager_messaging_limit,throughput"
    ]
    config = WhatsAppConfig.objects.get()
    assert config.health_status == "ok"
    assert (config.number_status, config.quality_rating) == ("CONNECTED", "GREEN")
    assert (config.messaging_limit_tier, config.messaging_limit) == ("TIER_10K", 10000)
    assert config.throughput_level == "HIGH" and config.name_status == "APPROVED"


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"status": "FLAGGED"}, "number_flagged"),
        ({"status": "RESTRICTED"}, "number_restricted"),
        ({"status": "BANNED"}, "number_banned"),
        ({"quality_rating": "RED"}, "quality_red"),
    ],
)
def test_a_restricted_or_red_number_needs_attention_at_once(team, fake_graph, fields, code):
    save_token(team)
    mail.outbox.clear()
    fake_graph.set_number(PHONE_NUMBER_ID, **fields)
    run_round()
    config = WhatsAppConfig.objects.get()
    assert config.health_status == "needs_attention" and config.last_error_code == code
    assert len(mail.outbox) == 2
    assert health.advice(code) in mail.outbox[0].body


@pytest.mark.parametrize("kind", ["revoked", "permission"])
def test_it_counts_other_authorization_failures(team, fake_graph, kind):
    save_token(team)
    if kind == "revoked":
        fake_graph.revoke_token(VALID_TOKEN)
    else:
        fake_graph.tokens[VALID_TOKEN] = "no_permission"
    run_round()
    run_round()
    config = WhatsAppConfig.objects.get()
    assert config.health_status == "needs_attention"
    assert config.last_error_code == ("invalid_token" if kind == "revoked" else "permission_denied")


@pytest.mark.parametrize("scenario", ["rate_limit", "server_error", "bad_gateway"])
def test_transient_graph_errors_are_failing_not_counted(team, fake_graph, scenario):
    save_token(team)
    fake_graph.scenario("phone", scenario)
    for _ in range(3):
        run_round()
    config = WhatsAppConfig.objects.get()
    assert config.health_status == "failing" and config.consecutive_auth_failures == 0


def test_it_warns_once_seven_days_before_the_token_expires(team, fake_graph):
    save_token(team, app_secret=APP_SECRET, app_id=APP_ID)
    mail.outbox.clear()
    fake_graph.token_expires_at[VALID_TOKEN] = int(time.time()) + 30 * 86400
    run_round()
    config = WhatsAppConfig.objects.get()
    assert config.token_expires_at is not None and mail.outbox == []
    debug = [r for r in fake_graph.requests if r.path.endswith("/debug_token")][-1]
    assert debug.headers["Authorization"] == f"Bearer {APP_ID}|{APP_SECRET}"
    assert APP_SECRET not in json.dumps(debug.query)

    fake_graph.token_expires_at[VALID_TOKEN] = int(time.time()) + 6 * 86400
    run_round()
    run_round()
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@grace.test", "owner@grace.test"]
    assert "expires on" in mail.outbox[0].subject and "expires on" in mail.outbox[0].body
    assert "expired" not in mail.outbox[0].subject + mail.outbox[0].body
    assert AuditEvent.objects.filter(action=WHATSAPP_TOKEN_EXPIRING).count() == 1
    assert health.token_expires_soon(WhatsAppConfig.objects.get())


def test_it_says_expired_when_the_token_expired_before_the_warning(team, fake_graph):
    save_token(team, app_secret=APP_SECRET, app_id=APP_ID)
    mail.outbox.clear()
    # Meta still answers with it (the check came a little late), but its time has passed.
    fake_graph.token_expires_at[VALID_TOKEN] = int(time.time()) - 3600
    run_round()
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert "the WhatsApp access token expired on" in message.subject
    assert (
        "expired on" in message.body and "cannot be sent until a new one is saved" in message.body
    )
    assert "expires on" not in message.subject + message.body
    event = AuditEvent.objects.get(action=WHATSAPP_TOKEN_EXPIRING)
    page = Client()
    page.force_login(team.owner)
    activity = page.get("/organization/activity/").content.decode()
    assert "warned by email that the WhatsApp access token expired on" in activity
    assert event.metadata["expires_at"]


def test_it_asks_nothing_of_debug_token_without_the_app_id(team, fake_graph):
    save_token(team, app_secret=APP_SECRET)
    run_round()
    assert not [r for r in fake_graph.requests if r.path.endswith("/debug_token")]


# --- webhooks -------------------------------------------------------------------------------


def deliver(config, field, value):
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": WABA_ID, "time": 1764081000, "changes": [{"field": field, "value": value}]}
            ],
        }
    ).encode()
    return Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )


@pytest.fixture
def received():
    seen = []
    events.subscribe(events.PhoneNumberQualityUpdate, seen.append)
    events.subscribe(events.AccountUpdate, seen.append)
    yield seen
    events._handlers[events.PhoneNumberQualityUpdate].remove(seen.append)
    events._handlers[events.AccountUpdate].remove(seen.append)


def test_a_quality_update_sets_the_messaging_limit_and_flags_at_once(team, fake_graph, received):
    config = save_token(team, app_secret=APP_SECRET)
    mail.outbox.clear()
    value = {
        "display_phone_number": "15550967852",
        "event": "UPGRADE",
        "old_limit": "TIER_2K",
        "current_limit": "TIER_10K",
        "max_daily_conversations_per_business": "TIER_100K",
    }
    assert deliver(config, "phone_number_quality_update", value).status_code == 200
    config.refresh_from_db()
    assert (config.messaging_limit_tier, config.messaging_limit) == ("TIER_100K", 100000)
    assert config.health_status == "ok"
    assert received[-1].messaging_limit == 100000 and received[-1].event == "UPGRADE"

    deliver(config, "phone_number_quality_update", {**value, "event": "FLAGGED"})
    deliver(config, "phone_number_quality_update", {**value, "event": "FLAGGED"})  # a retry
    config.refresh_from_db()
    assert config.health_status == "needs_attention" and config.last_error_code == "number_flagged"
    assert len(mail.outbox) == 2

    deliver(config, "phone_number_quality_update", {**value, "event": "UNFLAGGED"})
    config.refresh_from_db()
    assert config.health_status == "ok" and config.number_status == "CONNECTED"


def test_an_unlimited_tier_is_stored_as_unlimited(team, fake_graph, received):
    config = save_token(team, app_secret=APP_SECRET)
    deliver(
        config,
        "phone_number_quality_update",
        {"event": "UPGRADE", "max_daily_conversations_per_business": "TIER_UNLIMITED"},
    )
    config.refresh_from_db()
    assert config.messaging_limit is None and config.messaging_limit_unlimited


def test_a_quality_update_for_another_number_changes_nothing(team, fake_graph, received):
    config = save_token(team, app_secret=APP_SECRET)
    deliver(
        config,
        "phone_number_quality_update",
        {"display_phone_number": "15550001111", "event": "FLAGGED"},
    )
    config.refresh_from_db()
    assert config.health_status == "ok" and received == []


def test_an_account_restriction_needs_attention_and_a_reinstatement_clears_it(
    team, fake_graph, received
):
    config = save_token(team, app_secret=APP_SECRET)
    mail.outbox.clear()
    deliver(
        config,
        "account_update",
        {
            "event": "ACCOUNT_RESTRICTION",
            "restriction_info": [
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1}
            ],
        },
    )
    config.refresh_from_db()
    assert config.health_status == "needs_attention"
    assert config.last_error_code == "account_restricted" and len(mail.outbox) == 2
    assert received[-1].restricted is True

    run_round()  # the number itself is fine, but the account is still restricted
    config.refresh_from_db()
    assert config.health_status == "needs_attention"

    deliver(
        config,
        "account_update",
        {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}},
    )
    config.refresh_from_db()
    assert config.health_status == "ok" and config.account_restriction == ""


def test_unrelated_account_updates_change_nothing(team, fake_graph, received):
    config = save_token(team, app_secret=APP_SECRET)
    deliver(config, "account_update", {"event": "VERIFIED_ACCOUNT"})
    config.refresh_from_db()
    assert config.health_status == "ok" and received == []


@pytest.mark.parametrize(
    "value",
    [
        {"event": ["FLAGGED"]},
        {"event": "FLAGGED\x00", "max_daily_conversations_per_business": {"x": 1}},
        {"event": 5, "current_limit": "TIER_" + "9" * 500},
        {"ban_info": "DISABLE"},
    ],
)
def test_odd_health_webhooks_never_fail(team, fake_graph, value):
    config = save_token(team, app_secret=APP_SECRET)
    for field in ("phone_number_quality_update", "account_update"):
        assert deliver(config, field, value).status_code == 200


# --- through the real consumer ------------------------------------------------------------


def test_it_runs_the_whatsapp_checks_through_a_real_consumer(team, fake_graph, huey_consumer):
    save_token(team)
    mail.outbox.clear()
    fake_graph.expire_token(VALID_TOKEN)
    for _ in range(2):
        WhatsAppConfig.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
        tasks.whatsapp_health_round()
        huey_consumer.wait_idle()
    assert huey_consumer.completed("check_whatsapp") == 2
    assert huey_consumer.errors() == []
    assert WhatsAppConfig.objects.get().health_status == "needs_attention"
    assert len(mail.outbox) == 2
