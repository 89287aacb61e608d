"""Broadcasts within limits shared beyond one run: the organization's own allowance of
broadcast sends in flight (apart from its interactive requests'), the number's messaging limit
counted for all its broadcasts together, and the gap between two messages to one person held
across broadcasts sending at once."""

import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone

from common import http
from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging import services as message_services
from messaging.broadcasts import pacing, sending
from messaging.models import Broadcast, BroadcastRecipient, Contact
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def church(team, fake_graph):
    """The owner's church with WhatsApp connected, an approved marketing template, and two
    people who agreed to messages."""
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
        },
        format="json",
    )
    assert response.status_code == 200
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    message_services.template_sync(organization=team.org)
    team.ana = person(team, "Ana Lima", "+5511987654321")
    team.john = person(team, "John Okafor", "+2348031234567")
    fake_graph.requests.clear()
    return team


def person(team, name, phone) -> Contact:
    return Contact.objects.create(
        organization=team.org, name=name, phone=phone, opted_in_at=timezone.now()
    )


def queued_broadcast(church, people, name="Sunday") -> Broadcast:
    broadcast = Broadcast.objects.create(
        organization=church.org,
        name=name,
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


def sends(fake_graph) -> list[dict]:
    return [s for s in fake_graph.sent if s.get("type") == "template"]


@contextmanager
def slots_held(count, organization_id, allowance=http.INTERACTIVE, seconds=3.0):
    """`count` outbound slots of the organization held by other threads (as other requests or
    consumers would) until the block ends, or `seconds` at most. Yields the moment they were
    given back, once known: a dict filled at the end."""
    entered = threading.Semaphore(0)
    release = threading.Event()
    released: dict[str, float] = {}

    def hold():
        with http.bulkhead(organization_id=organization_id, allowance=allowance):
            entered.release()
            release.wait(seconds)
        released.setdefault("at", time.time())

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert entered.acquire(timeout=5)
    try:
        yield released
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=10)


def run_at_once(*broadcasts):
    """Drives the broadcasts at the same time, as two consumers would."""

    def drive(broadcast_id):
        try:
            sending.broadcast_run(broadcast_id=broadcast_id)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=drive, args=(b.pk,)) for b in broadcasts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def skip_on_sqlite():
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's shared in-memory test database locks whole tables between threads; "
            "the PostgreSQL run covers broadcasts sending at once"
        )


# --- the organization's outbound allowances -----------------------------------------------------


def test_it_sends_a_broadcast_while_the_interactive_allowance_is_used_up(
    church, fake_graph, settings
):
    settings.OUTBOUND_CONCURRENCY = 10
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 2
    broadcast = queued_broadcast(church, [church.ana, church.john])

    with slots_held(2, church.org.pk) as released:
        # Two requests of the organization wait on a slow provider: a third is refused...
        with pytest.raises(http.Busy), http.bulkhead(organization_id=church.org.pk):
            pass
        # ...but the broadcast has slots of its own.
        sending.broadcast_run(broadcast_id=broadcast.pk)
        sent_while_held = time.time()

    assert sorted(s["to"] for s in sends(fake_graph)) == ["2348031234567", "5511987654321"]
    assert all(s["at"] < sent_while_held <= released["at"] for s in sends(fake_graph))
    assert Broadcast.objects.get(pk=broadcast.pk).status == "done"


def test_it_keeps_the_interactive_allowance_free_while_broadcasts_use_theirs(church, settings):
    settings.OUTBOUND_CONCURRENCY = 10
    settings.OUTBOUND_CONCURRENCY_PER_ORG = 1
    settings.BROADCAST_OUTBOUND_PER_ORG = 2
    org = church.org.pk

    with slots_held(2, org, allowance=http.BROADCAST):
        with pytest.raises(http.Busy), http.bulkhead(organization_id=org, allowance=http.BROADCAST):
            pass
        with http.bulkhead(organization_id=org):  # a request of the organization goes on
            pass
        with http.bulkhead(organization_id=church.other_org.pk, allowance=http.BROADCAST):
            pass  # another organization's broadcasts have their own


def test_it_keeps_the_process_cap_for_broadcast_sends(church, settings):
    settings.OUTBOUND_CONCURRENCY = 1
    settings.BROADCAST_OUTBOUND_PER_ORG = 8

    with slots_held(1, church.other_org.pk):  # another organization's call in this process
        with pytest.raises(http.Busy):
            with http.bulkhead(organization_id=church.org.pk, allowance=http.BROADCAST):
                pass


def test_it_waits_for_a_broadcast_slot_beyond_the_broadcast_allowance(church, fake_graph, settings):
    settings.OUTBOUND_CONCURRENCY = 10
    settings.BROADCAST_OUTBOUND_PER_ORG = 1
    broadcast = queued_broadcast(church, [church.ana, church.john])

    # Another consumer's broadcast holds the organization's only broadcast slot for 0.6 s.
    with slots_held(1, church.org.pk, allowance=http.BROADCAST, seconds=0.6) as released:
        sending.broadcast_run(broadcast_id=broadcast.pk)

    assert sorted(s["to"] for s in sends(fake_graph)) == ["2348031234567", "5511987654321"]
    assert all(s["at"] >= released["at"] for s in sends(fake_graph))
    assert Broadcast.objects.get(pk=broadcast.pk).status == "done"
    # Waiting for a slot is no attempt.
    assert set(BroadcastRecipient.objects.values_list("attempts", flat=True)) == {1}


# --- the messaging limit, for all the number's broadcasts together -------------------------------


def test_it_counts_a_person_another_broadcast_is_sending_to_against_the_limit(church, fake_graph):
    WhatsAppConfig.objects.filter(organization=church.org).update(
        messaging_limit=1, messaging_limit_tier="TIER_50"
    )
    # Another consumer reserved John for its send, still under way.
    assert pacing.messaging_limit_reserve(
        organization=church.org, phone_number_id=PHONE_NUMBER_ID, to="2348031234567", limit=1
    )
    broadcast = queued_broadcast(church, [church.ana])

    sending.broadcast_run(broadcast_id=broadcast.pk)

    assert sends(fake_graph) == []
    broadcast.refresh_from_db()
    assert broadcast.status == "paused" and broadcast.pause_code == "messaging_limit"
    # John's send failed: his place is given back, and the broadcast may go on.
    pacing.messaging_limit_release(phone_number_id=PHONE_NUMBER_ID, to="2348031234567")
    Broadcast.objects.filter(pk=broadcast.pk).update(status="queued")
    sending.broadcast_run(broadcast_id=broadcast.pk)
    assert [s["to"] for s in sends(fake_graph)] == ["5511987654321"]


@pytest.mark.django_db(transaction=True)
def test_it_keeps_two_broadcasts_from_one_number_within_its_messaging_limit_together(
    church, fake_graph, settings
):
    skip_on_sqlite()
    settings.BROADCAST_SEND_THREADS = 2
    settings.WHATSAPP_SEND_RATE = 80
    fake_graph.delay = 0.2  # both broadcasts have sends in flight at once
    WhatsAppConfig.objects.filter(organization=church.org).update(
        messaging_limit=3, messaging_limit_tier="TIER_50"
    )
    people = [person(church, f"Person {i}", f"+55119000000{i:02d}") for i in range(8)]
    first = queued_broadcast(church, people[:4], name="Choir")
    second = queued_broadcast(church, people[4:], name="Youth")

    run_at_once(first, second)

    assert len({s["to"] for s in sends(fake_graph)}) == 3
    for broadcast in (first, second):
        broadcast.refresh_from_db()
        assert broadcast.status == "paused" and broadcast.pause_code == "messaging_limit"
        assert "messaging limit" in broadcast.pause_reason
    assert BroadcastRecipient.objects.filter(status="sent").count() == 3
    assert BroadcastRecipient.objects.filter(status="queued").count() == 5


# --- the gap between two messages to one person ----------------------------------------------


def test_it_waits_for_another_broadcasts_message_to_the_same_person(church, fake_graph, settings):
    settings.BROADCAST_PERSON_GAP_SECONDS = 1
    # Another consumer's broadcast claimed Ana's next message just now.
    assert pacing.person_claim(phone_number_id=PHONE_NUMBER_ID, to="5511987654321") == 0
    claimed_at = time.time()
    broadcast = queued_broadcast(church, [church.ana, church.john])

    sending.broadcast_run(broadcast_id=broadcast.pk)

    ana = [s for s in sends(fake_graph) if s["to"] == "5511987654321"]
    assert len(ana) == 1 and ana[0]["at"] - claimed_at >= 1
    assert Broadcast.objects.get(pk=broadcast.pk).status == "done"


@pytest.mark.django_db(transaction=True)
def test_it_spaces_two_broadcasts_messages_to_one_person_by_the_gap(church, fake_graph, settings):
    skip_on_sqlite()
    settings.BROADCAST_PERSON_GAP_SECONDS = 1
    settings.OUTBOUND_CONCURRENCY = 10
    settings.BROADCAST_SEND_THREADS = 2
    settings.WHATSAPP_SEND_RATE = 80
    fake_graph.delay = 0.1  # the first message is not recorded yet when the second is sent
    first = queued_broadcast(church, [church.ana, church.john], name="Choir")
    second = queued_broadcast(church, [church.ana, church.john], name="Youth")

    run_at_once(first, second)

    for phone in ("5511987654321", "2348031234567"):
        times = sorted(s["at"] for s in sends(fake_graph) if s["to"] == phone)
        assert len(times) == 2 and times[1] - times[0] >= 1, times
    for broadcast in (first, second):
        assert Broadcast.objects.get(pk=broadcast.pk).status == "done"
    assert set(BroadcastRecipient.objects.values_list("status", flat=True)) == {"sent"}
