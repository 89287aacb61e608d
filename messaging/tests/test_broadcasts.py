"""Broadcasts: who receives them, the engine's rules (never twice, opt-outs, limits, pauses,
resuming after a stopped consumer), delivery statuses, and the API."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging import services as message_services
from messaging import tasks
from messaging.broadcasts import sending
from messaging.models import Broadcast, BroadcastRecipient, Contact, ContactGroup
from messaging.send_rate import send_slot_claim
from organizations import audit
from organizations.models import AuditEvent
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.django_db
APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture(autouse=True)
def _commit_callbacks_run_at_once(request, monkeypatch):
    """The test's transaction never commits: run what waits for a commit (queueing the
    broadcast, the alert) at once, as it would run after the request's commit. Tests with a
    real consumer commit for real."""
    if "huey_consumer" in request.fixturenames:
        return
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


@pytest.fixture
def church(team, fake_graph):
    """The owner's church with WhatsApp connected, two approved templates (marketing with
    positional variables, utility without), and a Choir group of four people: two who agreed
    to messages, one who opted out, one with no consent recorded."""
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": APP_SECRET,
        },
        format="json",
    )
    assert response.status_code == 200
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    fake_graph.add_template(
        "rehearsal_moved", body="Choir rehearsal moved to Friday.", category="UTILITY"
    )
    message_services.template_sync(organization=team.org)
    choir = ContactGroup.objects.create(organization=team.org, name="Choir")
    now = timezone.now()
    people = {
        "ana": Contact.objects.create(
            organization=team.org, name="Ana Lima", phone="+5511987654321", opted_in_at=now
        ),
        "john": Contact.objects.create(
            organization=team.org, name="John Okafor", phone="+2348031234567", opted_in_at=now
        ),
        "olga": Contact.objects.create(
            organization=team.org,
            name="Olga",
            phone="+380501234567",
            opted_in_at=now,
            opted_out_at=now,
        ),
        "pete": Contact.objects.create(organization=team.org, name="Pete", phone="+447911123456"),
    }
    for contact in people.values():
        contact.groups.add(choir)
    team.choir = choir
    team.people = people
    fake_graph.requests.clear()
    return team


def create(team, user=None, **overrides):
    body = {
        "name": "Easter invitation",
        "group_ids": [team.choir.pk],
        "template": {
            "name": "sunday_service",
            "language": "en_US",
            "variables": ["{{first_name}}", "10 am"],
        },
    }
    body.update(overrides)
    # json.dumps escapes lone surrogates as JSON allows ("\\ud800"); the test client's own
    # encoder cannot.
    return api_client(user or team.owner).post(
        "/api/broadcasts", json.dumps(body), content_type="application/json"
    )


def sent_to(fake_graph) -> list[str]:
    return sorted(s["to"] for s in fake_graph.sent if s.get("type") == "template")


def recipient(broadcast_id, contact) -> BroadcastRecipient:
    return BroadcastRecipient.objects.get(broadcast_id=broadcast_id, contact=contact)


# --- creating and sending ------------------------------------------------------------------


def test_it_sends_to_everyone_who_may_receive_it_and_skips_the_rest_with_the_reason(
    church, fake_graph
):
    response = create(church)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["recipients_total"] == 4 and body["status"] == "queued"
    # Tasks run inline in the tests: the broadcast is already sent.
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    ana = fake_graph.sent[[s["to"] for s in fake_graph.sent].index("5511987654321")]
    assert [p["text"] for p in ana["template"]["components"][0]["parameters"]] == ["Ana", "10 am"]
    detail = api_client(church.member).get(f"/api/broadcasts/{body['id']}").json()
    assert detail["status"] == "done"
    assert detail["counts"] == {
        "total": 4,
        "queued": 0,
        "sent": 2,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "skipped": 2,
        "unknown": 0,
        "cancelled": 0,
    }
    assert recipient(body["id"], church.people["olga"]).error_code == "opted_out"
    assert recipient(body["id"], church.people["pete"]).error_code == "no_consent"
    assert (
        AuditEvent.objects.filter(action=audit.BROADCAST_CREATED, organization=church.org).count()
        == 1
    )


def test_it_never_sends_one_broadcast_twice_to_a_person(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    sending.broadcast_run(broadcast_id=broadcast_id)
    sending.broadcast_run(broadcast_id=broadcast_id)
    tasks.broadcasts_tick.call_local()

    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]


def test_it_lists_each_person_once_even_when_chosen_twice(church, fake_graph):
    response = create(church, contact_ids=[church.people["ana"].pk])

    assert response.json()["recipients_total"] == 4
    assert sent_to(fake_graph).count("5511987654321") == 1


def test_it_skips_united_states_numbers_for_a_marketing_template_only(church, fake_graph):
    us = Contact.objects.create(
        organization=church.org, name="Sam", phone="+12025550143", opted_in_at=timezone.now()
    )
    us.groups.add(church.choir)

    marketing = create(church).json()["id"]
    utility = create(church, template={"name": "rehearsal_moved", "language": "en_US"}).json()["id"]

    assert recipient(marketing, us).error_code == "us_number"
    assert recipient(utility, us).status == "sent"


def test_it_resumes_where_a_stopped_consumer_left_off_and_reports_the_cut_off_send(
    church, fake_graph, settings
):
    settings.HUEY_IMMEDIATE = True
    broadcast = Broadcast.objects.create(
        organization=church.org,
        name="Cut off",
        template_name="sunday_service",
        template_language="en_US",
        template_category="MARKETING",
        variables=["friend", "10 am"],
        status="sending",
        created_by=church.owner,
        # The consumer that held it stopped a minute ago.
        lease_until=timezone.now() - timedelta(seconds=5),
        lease_owner="dead-consumer",
    )
    ana, john = church.people["ana"], church.people["john"]
    pete = Contact.objects.create(
        organization=church.org, name="Pia", phone="+4915112345678", opted_in_at=timezone.now()
    )
    BroadcastRecipient.objects.create(
        broadcast=broadcast, contact=ana, phone=ana.phone, status="sent", message_id="wamid.done"
    )
    BroadcastRecipient.objects.create(
        broadcast=broadcast, contact=john, phone=john.phone, status="sending", attempts=1
    )
    BroadcastRecipient.objects.create(broadcast=broadcast, contact=pete, phone=pete.phone)

    tasks.broadcasts_tick.call_local()

    assert sent_to(fake_graph) == ["4915112345678"]
    assert recipient(broadcast.pk, john).status == "unknown"
    broadcast.refresh_from_db()
    assert broadcast.status == "done" and broadcast.lease_owner == ""


def test_it_does_not_take_a_broadcast_another_consumer_holds(church, fake_graph):
    broadcast_id = create(
        church, scheduled_at=(timezone.now() + timedelta(hours=1)).isoformat()
    ).json()["id"]
    Broadcast.objects.filter(pk=broadcast_id).update(
        status="sending", lease_until=timezone.now() + timedelta(seconds=30), lease_owner="other"
    )

    sending.broadcast_run(broadcast_id=broadcast_id)
    tasks.broadcasts_tick.call_local()

    assert sent_to(fake_graph) == []


def test_it_starts_a_scheduled_broadcast_when_its_time_comes(church, fake_graph):
    when = timezone.now() + timedelta(hours=2)
    body = create(church, scheduled_at=when.isoformat()).json()
    assert body["status"] == "scheduled"
    tasks.broadcasts_tick.call_local()
    assert sent_to(fake_graph) == []

    Broadcast.objects.filter(pk=body["id"]).update(scheduled_at=timezone.now())
    tasks.broadcasts_tick.call_local()

    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]


# --- Meta's answers ------------------------------------------------------------------------


def test_it_marks_a_person_who_stopped_marketing_and_skips_them_next_time(church, fake_graph):
    fake_graph.recipient_scenarios["5511987654321"] = "marketing_opted_out"

    first = create(church).json()["id"]

    ana = recipient(first, church.people["ana"])
    assert ana.status == "failed" and ana.error_code == "marketing_opted_out"
    assert recipient(first, church.people["john"]).status == "sent"
    church.people["ana"].refresh_from_db()
    assert church.people["ana"].opted_out_at is not None
    fake_graph.sent.clear()
    second = create(church).json()["id"]
    assert recipient(second, church.people["ana"]).error_code == "opted_out"
    assert sent_to(fake_graph) == ["2348031234567"]


def test_it_pauses_on_an_account_error_and_alerts_owners_and_admins_once(church, fake_graph):
    fake_graph.scenario("send", "account_blocked")

    broadcast_id = create(church).json()["id"]

    broadcast = Broadcast.objects.get(pk=broadcast_id)
    assert broadcast.status == "paused" and broadcast.pause_code == "account_blocked"
    assert broadcast.pause_reason
    assert recipient(broadcast_id, church.people["ana"]).status == "queued"
    alerts = [m for m in mail.outbox if "Broadcast paused" in m.subject]
    assert sorted(m.to[0] for m in alerts) == sorted([church.owner.email, church.admin.email])
    assert AuditEvent.objects.filter(action=audit.BROADCAST_PAUSED).count() == 1

    # Fixed at Meta: an owner resumes, and everyone waiting receives it once.
    fake_graph.scenario("send", "ok")
    response = api_client(church.owner).post(f"/api/broadcasts/{broadcast_id}/resume")
    assert response.status_code == 200
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"
    assert len([m for m in mail.outbox if "Broadcast paused" in m.subject]) == 2


def test_it_backs_off_when_meta_says_the_number_sends_too_fast(church, fake_graph, monkeypatch):
    fake_graph.max_sends_per_second = 1
    monkeypatch.setattr(sending, "MAX_BACKOFF_SECONDS", 2)

    broadcast_id = create(church).json()["id"]

    # The second send hit the throughput limit, waited, and went through.
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    refused = [r for r in fake_graph.requests_to("send") if r]
    assert len(refused) >= 3
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"


def test_it_pauses_at_the_messaging_limit_and_goes_on_when_it_may(church, fake_graph):
    WhatsAppConfig.objects.filter(organization=church.org).update(
        messaging_limit=1, messaging_limit_tier="TIER_50"
    )

    broadcast_id = create(church).json()["id"]

    broadcast = Broadcast.objects.get(pk=broadcast_id)
    assert broadcast.status == "paused" and broadcast.pause_code == "messaging_limit"
    assert "1 people" not in broadcast.pause_reason and "messaging limit" in broadcast.pause_reason
    assert broadcast.resume_at > timezone.now() + timedelta(hours=23)
    assert len(sent_to(fake_graph)) == 1
    assert not [m for m in mail.outbox if "Broadcast paused" in m.subject]

    # A day later the limit has room again: the minute tick resumes it.
    Broadcast.objects.filter(pk=broadcast_id).update(resume_at=timezone.now())
    WhatsAppConfig.objects.filter(organization=church.org).update(messaging_limit=1000)
    tasks.broadcasts_tick.call_local()
    assert len(sent_to(fake_graph)) == 2
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"


def test_it_follows_delivery_statuses_from_the_webhook_forward_only(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    ana = recipient(broadcast_id, church.people["ana"])
    john = recipient(broadcast_id, church.people["john"])
    config = WhatsAppConfig.objects.get(organization=church.org)

    for message_id, status in [
        (ana.message_id, "delivered"),
        (ana.message_id, "read"),
        (ana.message_id, "delivered"),  # late and out of order: ignored
        (john.message_id, "failed"),
    ]:
        post_status(config, message_id, status)

    counts = api_client(church.owner).get(f"/api/broadcasts/{broadcast_id}").json()["counts"]
    assert (counts["sent"], counts["delivered"], counts["read"], counts["failed"]) == (1, 1, 1, 1)
    assert recipient(broadcast_id, church.people["ana"]).status == "read"
    assert recipient(broadcast_id, church.people["john"]).error_code == "undeliverable"


def post_status(config, message_id, status):
    item = {"id": message_id, "status": status, "timestamp": "1764081000", "recipient_id": "1"}
    if status == "failed":
        item["errors"] = [{"code": 131026, "title": "Message Undeliverable"}]
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": WABA_ID,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": PHONE_NUMBER_ID},
                                "statuses": [item],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    response = Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert response.status_code == 200


# --- cancelling, reading, rights ---------------------------------------------------------


def test_it_cancels_a_broadcast_so_nobody_still_waiting_receives_it(church, fake_graph):
    body = create(church, scheduled_at=(timezone.now() + timedelta(hours=1)).isoformat()).json()

    response = api_client(church.admin).post(f"/api/broadcasts/{body['id']}/cancel")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["counts"]["cancelled"] == 2
    Broadcast.objects.filter(pk=body["id"]).update(scheduled_at=timezone.now())
    tasks.broadcasts_tick.call_local()
    assert sent_to(fake_graph) == []


def test_it_lets_members_read_but_only_owners_and_admins_send_cancel_or_resume(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    member = api_client(church.member)

    assert create(church, user=church.member).status_code == 403
    assert member.post(f"/api/broadcasts/{broadcast_id}/cancel").status_code == 403
    assert member.post(f"/api/broadcasts/{broadcast_id}/resume").status_code == 403
    assert member.get("/api/broadcasts").json()["count"] == 1
    page = member.get(f"/api/broadcasts/{broadcast_id}/recipients").json()
    assert page["count"] == 4
    assert {r["status"] for r in page["results"]} == {"sent", "skipped"}
    report = member.get(f"/api/broadcasts/{broadcast_id}/report.csv")
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode()
    assert "Ana Lima" in text and "opted_out" in text


def test_it_shows_outsiders_nothing(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    outsider = api_client(church.outsider)

    assert outsider.get("/api/broadcasts").json()["count"] == 0
    for path in ("", "/recipients", "/report.csv"):
        assert outsider.get(f"/api/broadcasts/{broadcast_id}{path}").status_code == 404
    for action in ("cancel", "resume"):
        assert outsider.post(f"/api/broadcasts/{broadcast_id}/{action}").status_code == 404
    # Another organization's group and contact ids reach nobody.
    other_group = ContactGroup.objects.create(organization=church.other_org, name="Other")
    response = create(church, group_ids=[other_group.pk], contact_ids=[])
    assert response.status_code == 400


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"name": "\ud800"}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"group_ids": "1"}, "group_ids"),
        ({"group_ids": [True]}, "group_ids"),
        (
            {"template": {"name": "sunday_service", "language": "en_US", "variables": [1, 2]}},
            "template",
        ),
        (
            {
                "template": {
                    "name": "sunday_service",
                    "language": "en_US",
                    "variables": ["\ud800", "x"],
                }
            },
            "template",
        ),
        (
            {
                "template": {
                    "name": "sunday_service",
                    "language": "en_US",
                    "variables": ["only one"],
                }
            },
            "variables",
        ),
        ({"template": {"name": "nope", "language": "en_US"}}, "template"),
        ({"template": "sunday_service"}, "template"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
    ],
)
def test_it_refuses_bad_input_with_a_400_and_creates_nothing(church, fake_graph, overrides, field):
    response = create(church, **overrides)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] and (field in body.get("fields", {}) or body["error_code"])
    assert not Broadcast.objects.exists()
    assert sent_to(fake_graph) == []


# --- the per-number rate ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_spaces_sends_of_one_number_across_concurrent_senders():
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's shared in-memory test database locks whole tables between "
            "threads; the PostgreSQL run covers concurrent senders"
        )
    slots: list[float] = []

    def claim():
        for _ in range(10):
            slots.append(send_slot_claim(phone_number_id="123", rate=50))
        connection.close()  # this thread's own connection

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert len(slots) == 40 and min(gaps) >= 1 / 50 - 1e-6
    # Never more than 50 in any one second.
    assert all(sum(1 for s in slots if t <= s < t + 1) <= 50 for t in slots)
    assert slots[-1] - time.time() < 1.0


def test_it_spaces_sends_of_one_number_one_after_another():
    slots = [send_slot_claim(phone_number_id="456", rate=20) for _ in range(5)]

    assert all(b - a >= 1 / 20 for a, b in zip(slots, slots[1:], strict=False))


# --- pages --------------------------------------------------------------------------------------


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_it_previews_who_is_skipped_and_why_before_sending_from_the_page(church, fake_graph):
    client = page_client(church.owner)
    form = {
        "name": "Easter",
        "template": "sunday_service|en_US",
        "groups": [str(church.choir.pk)],
        "var_1": "{{first_name}}",
        "var_2": "10 am",
    }

    preview = client.post("/broadcasts/new/", {**form, "action": "preview"})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "2 people will receive it, of 4 chosen" in text
    assert "Opted out" in text and "No consent recorded" in text
    assert sent_to(fake_graph) == []

    sent = client.post("/broadcasts/new/", {**form, "action": "send"})
    broadcast = Broadcast.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/broadcasts/{broadcast.pk}/"
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    detail = client.get(sent["Location"]).content.decode()
    assert 'value="100"' in detail and "Ana Lima" in detail
    progress = client.get(f"/broadcasts/{broadcast.pk}/progress/").json()
    assert progress["progress"] == 100 and progress["counts"]["sent"] == 2
    assert "Easter" in client.get("/broadcasts/").content.decode()


def test_it_asks_for_every_variable_on_the_page(church, fake_graph):
    response = page_client(church.owner).post(
        "/broadcasts/new/",
        {
            "name": "Easter",
            "template": "sunday_service|en_US",
            "groups": [str(church.choir.pk)],
            "var_1": "Ana",
            "action": "send",
        },
    )

    assert response.status_code == 400
    assert not Broadcast.objects.exists()


def test_it_shows_members_the_broadcasts_but_not_the_new_broadcast_page(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    member = page_client(church.member)

    assert member.get("/broadcasts/").status_code == 200
    assert member.get(f"/broadcasts/{broadcast_id}/").status_code == 200
    assert member.get("/broadcasts/new/").status_code == 403
    assert member.post(f"/broadcasts/{broadcast_id}/cancel/").status_code == 403
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"


def test_it_shows_outsiders_no_broadcast_page(church, fake_graph):
    broadcast_id = create(church).json()["id"]
    outsider = page_client(church.outsider)

    for path in ("", "progress/", "report.csv"):
        assert outsider.get(f"/broadcasts/{broadcast_id}/{path}").status_code == 404
    assert outsider.post(f"/broadcasts/{broadcast_id}/cancel/").status_code == 404
    assert "Easter" not in outsider.get("/broadcasts/").content.decode()


def test_it_cancels_from_the_page(church, fake_graph):
    broadcast_id = create(
        church, scheduled_at=(timezone.now() + timedelta(hours=1)).isoformat()
    ).json()["id"]

    response = page_client(church.admin).post(f"/broadcasts/{broadcast_id}/cancel/")

    assert response.status_code == 302
    assert Broadcast.objects.get(pk=broadcast_id).status == "cancelled"


# --- the whole journey through the API -------------------------------------------------------


def post_webhook(config, value):
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    response = Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert response.status_code == 200


def test_it_imports_syncs_sends_follows_statuses_and_honours_a_stop_through_the_api(
    team, fake_graph
):
    owner = api_client(team.owner)
    assert (
        owner.put(
            "/api/settings/whatsapp-meta",
            {
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": WABA_ID,
                "access_token": VALID_TOKEN,
                "app_secret": APP_SECRET,
            },
            format="json",
        ).status_code
        == 200
    )
    csv_file = (
        "name,phone,groups,opted_in\n"
        "Ana Lima,+5511987654321,Youth;Choir,yes\n"
        "John Okafor,+2348031234567,Youth,yes\n"
        "Mary Jones,+447911123456,Youth,yes\n"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    imported = owner.post(
        "/api/contacts/import",
        {"file": SimpleUploadedFile("members.csv", csv_file.encode(), "text/csv")},
        format="multipart",
    )
    assert imported.status_code == 200 and imported.json()["created"] == 3
    youth = next(g for g in owner.get("/api/contact-groups").json() if g["name"] == "Youth")
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    assert owner.post("/api/whatsapp/templates/sync").status_code == 202
    templates = api_client(team.member).get("/api/whatsapp/templates").json()
    assert [t["name"] for t in templates] == ["sunday_service"]

    body = {
        "name": "Sunday",
        "group_ids": [youth["id"]],
        "template": {
            "name": "sunday_service",
            "language": "en_US",
            "variables": ["{{first_name}}", "10 am"],
        },
    }
    first = owner.post("/api/broadcasts", body, format="json").json()
    assert sent_to(fake_graph) == ["2348031234567", "447911123456", "5511987654321"]
    recipients = owner.get(f"/api/broadcasts/{first['id']}/recipients").json()["results"]
    config = WhatsAppConfig.objects.get(organization=team.org)
    for r in recipients:
        record = BroadcastRecipient.objects.get(pk=r["id"])
        post_status(config, record.message_id, "delivered")
    counts = owner.get(f"/api/broadcasts/{first['id']}").json()["counts"]
    assert counts["delivered"] == 3

    # Mary answers STOP: the next broadcast skips her, with the reason.
    post_webhook(
        config,
        {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Mary"}, "wa_id": "447911123456"}],
            "messages": [
                {
                    "from": "447911123456",
                    "id": "wamid.stop-from-mary",
                    "timestamp": str(int(timezone.now().timestamp())),
                    "type": "text",
                    "text": {"body": "STOP"},
                }
            ],
        },
    )
    fake_graph.sent.clear()
    second = owner.post("/api/broadcasts", {**body, "name": "Next Sunday"}, format="json").json()
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    mary = [
        r
        for r in owner.get(f"/api/broadcasts/{second['id']}/recipients").json()["results"]
        if r["phone"] == "+447911123456"
    ]
    assert mary[0]["status"] == "skipped" and mary[0]["error_code"] == "opted_out"


# --- through the real consumer ------------------------------------------------------------------


def test_it_sends_a_broadcast_through_a_real_consumer(church, fake_graph, huey_consumer, settings):
    if connection.vendor != "sqlite":
        settings.BROADCAST_SEND_THREADS = 3  # PostgreSQL: several sends in flight
    broadcast_id = create(church).json()["id"]
    huey_consumer.wait_idle()

    assert huey_consumer.completed("send_broadcast") == 1
    assert huey_consumer.errors() == []
    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"

    # The minute tick through the consumer finds nothing left to do, and sends nothing again.
    tasks.broadcasts_tick()
    huey_consumer.wait_idle()
    assert huey_consumer.errors() == []
    assert len(sent_to(fake_graph)) == 2


def test_it_waits_for_a_free_outbound_slot_instead_of_failing(church, fake_graph, settings):
    from common import http

    settings.OUTBOUND_CONCURRENCY = 1
    slot = http._process_semaphore()
    assert slot.acquire(blocking=False)  # someone else's call holds the only slot
    threading.Timer(0.5, slot.release).start()

    broadcast_id = create(church).json()["id"]

    assert sent_to(fake_graph) == ["2348031234567", "5511987654321"]
    assert Broadcast.objects.get(pk=broadcast_id).status == "done"
    assert set(BroadcastRecipient.objects.values_list("attempts", flat=True)) <= {0, 1}


def test_it_stops_at_the_plans_monthly_broadcast_recipients_and_names_the_cap(
    church, fake_graph, settings
):
    settings.PLAN_FREE_BROADCAST_RECIPIENTS = 3  # the church is on the Free plan

    first = create(church)  # 2 people receive it (2 skipped do not count)
    second = create(church)

    assert first.status_code == 201
    assert second.status_code == 402
    body = second.json()
    assert body["error_code"] == "budget_exhausted" and body["cap"] == "broadcast_recipients"
    assert body["resets_at"]
    assert Broadcast.objects.count() == 1 and len(sent_to(fake_graph)) == 2


def test_it_gives_back_the_recipients_a_cancelled_broadcast_did_not_reach(
    church, fake_graph, settings
):
    settings.PLAN_FREE_BROADCAST_RECIPIENTS = 2
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    scheduled = create(church, scheduled_at=later).json()["id"]
    assert create(church).status_code == 402

    api_client(church.owner).post(f"/api/broadcasts/{scheduled}/cancel")

    assert create(church).status_code == 201


# --- consent checked again just before each send ----------------------------------------------

JOHN = "2348031234567"


def post_change(config, field, value):
    """One signed webhook change for the church's number."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550967852", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": field, "value": value}]}],
        }
    ).encode()
    response = Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert response.status_code == 200


def john_says_stop(church, fake_graph):
    post_change(
        WhatsAppConfig.objects.get(organization=church.org),
        "messages",
        {
            "contacts": [{"profile": {"name": "John"}, "wa_id": JOHN}],
            "messages": [
                {
                    "from": JOHN,
                    "id": "wamid.stop-from-john",
                    "timestamp": str(int(timezone.now().timestamp())),
                    "type": "text",
                    "text": {"body": " Stop "},
                }
            ],
        },
    )


def john_stops_marketing_in_whatsapp(church, fake_graph):
    post_change(
        WhatsAppConfig.objects.get(organization=church.org),
        "user_preferences",
        {
            "contacts": [{"profile": {"name": "John"}, "wa_id": JOHN}],
            "user_preferences": [
                {
                    "wa_id": JOHN,
                    "detail": "User requested to stop marketing messages",
                    "category": "marketing_messages",
                    "value": "stop",
                    "timestamp": int(timezone.now().timestamp()),
                }
            ],
        },
    )


def john_refuses_another_marketing_message(church, fake_graph):
    # Meta answers 131050 to a message sent to him from the composer meanwhile.
    fake_graph.recipient_scenarios[JOHN] = "marketing_opted_out"
    response = api_client(church.owner).post(
        "/api/messages/send",
        {
            "contact_id": church.people["john"].pk,
            "template": {"name": "sunday_service", "language": "en_US", "variables": ["J", "9"]},
        },
        format="json",
    )
    assert response.status_code == 502, response.content
    del fake_graph.recipient_scenarios[JOHN]


def john_is_deleted(church, fake_graph):
    response = api_client(church.owner).delete(f"/api/contacts/{church.people['john'].pk}")
    assert response.status_code == 204


@pytest.mark.parametrize(
    "what_happens, code",
    [
        (john_says_stop, "opted_out"),
        (john_stops_marketing_in_whatsapp, "opted_out"),
        (john_refuses_another_marketing_message, "opted_out"),
        (john_is_deleted, "contact_deleted"),
    ],
)
def test_it_skips_who_opted_out_or_was_deleted_after_the_broadcast_was_made(
    church, fake_graph, what_happens, code
):
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    broadcast_id = create(church, scheduled_at=later).json()["id"]
    assert recipient(broadcast_id, church.people["john"]).status == "queued"

    what_happens(church, fake_graph)
    fake_graph.sent.clear()
    Broadcast.objects.filter(pk=broadcast_id).update(scheduled_at=timezone.now())
    tasks.broadcasts_tick.call_local()

    assert sent_to(fake_graph) == ["5511987654321"]
    john = BroadcastRecipient.objects.get(broadcast_id=broadcast_id, phone="+" + JOHN)
    assert john.status == "skipped" and john.error_code == code and not john.message_id
    detail = api_client(church.member).get(f"/api/broadcasts/{broadcast_id}").json()
    assert detail["status"] == "done"
    assert (detail["counts"]["sent"], detail["counts"]["skipped"]) == (1, 3)
    assert detail["counts"]["queued"] == 0
    reasons = api_client(church.member).get(f"/api/broadcasts/{broadcast_id}/recipients").json()
    john_row = next(r for r in reasons["results"] if r["phone"] == "+" + JOHN)
    assert john_row["status"] == "skipped" and john_row["error_code"] == code


def test_it_gives_back_the_plan_recipient_of_someone_skipped_at_send_time(
    church, fake_graph, settings
):
    settings.PLAN_FREE_BROADCAST_RECIPIENTS = 2  # Ana and John fill the month
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    broadcast_id = create(church, scheduled_at=later).json()["id"]
    assert create(church, contact_ids=[church.people["ana"].pk], group_ids=[]).status_code == 402

    john_says_stop(church, fake_graph)
    Broadcast.objects.filter(pk=broadcast_id).update(scheduled_at=timezone.now())
    tasks.broadcasts_tick.call_local()

    assert create(church, contact_ids=[church.people["ana"].pk], group_ids=[]).status_code == 201


# --- several sending threads (PostgreSQL: SQLite's test database locks between threads) -------


def skip_on_sqlite():
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's shared in-memory test database locks whole tables between "
            "threads; the PostgreSQL run covers several sending threads"
        )


def queued_broadcast(church, people) -> Broadcast:
    """A queued broadcast of the marketing template to these contacts, not yet started."""
    broadcast = Broadcast.objects.create(
        organization=church.org,
        name="Threads",
        template_name="sunday_service",
        template_language="en_US",
        template_category="MARKETING",
        variables=["friend", "10 am"],
        status="queued",
        created_by=church.owner,
        recipients_total=len(people),
    )
    for contact in people:
        BroadcastRecipient.objects.create(broadcast=broadcast, contact=contact, phone=contact.phone)
    return broadcast


@pytest.mark.django_db(transaction=True)
def test_it_never_reaches_more_people_than_the_messaging_limit_with_several_threads(
    church, fake_graph, settings
):
    skip_on_sqlite()
    settings.BROADCAST_SEND_THREADS = 4
    settings.WHATSAPP_SEND_RATE = 80
    fake_graph.delay = 0.2  # every thread's send is in flight at once
    WhatsAppConfig.objects.filter(organization=church.org).update(
        messaging_limit=2, messaging_limit_tier="TIER_50"
    )
    people = [
        Contact.objects.create(
            organization=church.org,
            name=f"Person {i}",
            phone=f"+55119000000{i:02d}",
            opted_in_at=timezone.now(),
        )
        for i in range(8)
    ]
    broadcast = queued_broadcast(church, people)

    sending.broadcast_run(broadcast_id=broadcast.pk)

    assert len(set(sent_to(fake_graph))) == 2
    broadcast.refresh_from_db()
    assert broadcast.status == "paused" and broadcast.pause_code == "messaging_limit"
    statuses = list(BroadcastRecipient.objects.filter(broadcast=broadcast).values_list("status"))
    assert sorted(s for (s,) in statuses).count("sent") == 2
    assert not BroadcastRecipient.objects.filter(broadcast=broadcast, status="sending").exists()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_its_lease_while_waiting_out_a_throughput_back_off(
    church, fake_graph, settings, monkeypatch
):
    skip_on_sqlite()
    # A short lease and back-off: the wait outlasts the lease several times over.
    monkeypatch.setattr(sending, "LEASE", timedelta(seconds=0.4))
    monkeypatch.setattr(sending, "LEASE_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(sending, "MAX_BACKOFF_SECONDS", 1.5)
    pia = Contact.objects.create(
        organization=church.org, name="Pia", phone="+4915112345678", opted_in_at=timezone.now()
    )
    ana, john = church.people["ana"], church.people["john"]
    broadcast = queued_broadcast(church, [ana, john, pia])
    # Meta says the number sends too fast when John's turn comes: everyone waits.
    fake_graph.recipient_scenarios[JOHN] = "throughput_limit"

    def consume():
        try:
            sending.broadcast_run(broadcast_id=broadcast.pk)
        finally:
            connection.close()  # this thread's own connection

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        deadline = time.monotonic() + 5
        while recipient(broadcast.pk, pia).status != "sending" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert recipient(broadcast.pk, pia).status == "sending"  # held through the back-off
        time.sleep(0.6)  # longer than the lease
        del fake_graph.recipient_scenarios[JOHN]

        # The minute tick on another consumer: the broadcast is still held, so it waits.
        sending.broadcast_run(broadcast_id=broadcast.pk)
    finally:
        consumer.join(timeout=10)

    assert sent_to(fake_graph) == sorted(["4915112345678", JOHN, "5511987654321"])
    assert recipient(broadcast.pk, pia).status == "sent"
    assert not BroadcastRecipient.objects.filter(broadcast=broadcast, status="unknown").exists()
    assert Broadcast.objects.get(pk=broadcast.pk).status == "done"
