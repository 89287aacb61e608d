"""A consumer killed mid-broadcast (SIGKILL: no clean-up at all) and another one started: the
broadcast goes on where it stopped, nobody receives it twice, and the sends cut off mid-call
are reported `unknown`, not sent again.

The consumers are real `manage.py run_huey` processes on the test database, so this needs a
database another process can open: PostgreSQL (pytest-django's SQLite test database lives in
memory). It runs in CI's PostgreSQL run, with Redis as the queue when HUEY_URL says so.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from messaging import services as message_services
from messaging import tasks
from messaging.models import Broadcast, BroadcastRecipient, Contact, ContactGroup

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the consumers are other processes: they need a database they can open, "
        "PostgreSQL (CI's PostgreSQL run); the SQLite test database lives in memory",
    ),
    pytest.mark.slow,  # waits out the dead consumer's 30-second lease
    pytest.mark.django_db(transaction=True),  # the consumers see only committed rows
]

BASE_DIR = Path(__file__).resolve().parents[2]
PEOPLE = 30
LATENCY = 0.2  # each send takes this long at the fake Graph: the kill lands mid-call


class ConsumerProcess:
    """`manage.py run_huey` in a process group of its own, on the test database and on the
    queue this test process enqueues to."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_huey", "-w", "2", "-k", "thread", "-n"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: the process and its threads stop on the spot, mid-call included."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def consumers(transactional_db, fake_graph, tmp_path):
    """Starts consumer processes (`consumers.start()`); tasks this process calls meanwhile go
    to their queue (Redis when HUEY_URL is set, else a SQLite file) instead of running inline.
    Stops what is left and puts the project's Huey back afterwards."""
    name = f"{HUEY.name}-kill-{uuid.uuid4().hex[:12]}"
    queue_file = tmp_path / "huey-queue.sqlite3"
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]  # the test database (test_…)
    )
    env = {
        **os.environ,  # PATH, and the test settings' secrets (set by config/test_settings.py)
        # The production settings: the test settings send from one thread only.
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database.geturl(),
        "HUEY_IMMEDIATE": "false",
        "HUEY_NAME": name,
        "HUEY_SQLITE_PATH": str(queue_file),
        "WHATSAPP_GRAPH_BASE_URL": settings.WHATSAPP_GRAPH_BASE_URL,
        "BROADCAST_SEND_THREADS": "3",
        "OUTBOUND_CONCURRENCY_PER_ORG": "3",
        "LOG_LEVEL": "WARNING",
    }
    saved = (HUEY.immediate, HUEY.storage)
    HUEY._immediate = False  # the setter would build a storage from the settings
    if settings.HUEY_URL:
        HUEY.storage = HUEY.storage_class(name, **HUEY.storage_kwargs)
    else:
        HUEY.storage = SqliteStorage(name, filename=str(queue_file))
    started: list[ConsumerProcess] = []

    class Consumers:
        def start(self) -> ConsumerProcess:
            started.append(ConsumerProcess(env, tmp_path / f"consumer-{len(started)}.log"))
            return started[-1]

        def logs(self) -> str:
            return "\n".join(f"--- {c.log_path.name}\n{c.tail()}" for c in started)

    try:
        yield Consumers()
    finally:
        for consumer in started:
            consumer.stop()
        try:
            HUEY.storage.flush_all()
        finally:
            HUEY._immediate, HUEY.storage = saved


@pytest.fixture
def church(team, fake_graph):
    """The owner's church with WhatsApp connected, an approved marketing template, and a
    group of 30 people who agreed to messages."""
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        },
        format="json",
    )
    assert response.status_code == 200
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    message_services.template_sync(organization=team.org)
    team.group = ContactGroup.objects.create(organization=team.org, name="Everyone")
    now = timezone.now()
    for i in range(PEOPLE):
        contact = Contact.objects.create(
            organization=team.org,
            name=f"Person {i}",
            phone=f"+5511{900000000 + i}",
            opted_in_at=now,
        )
        contact.groups.add(team.group)
    fake_graph.requests.clear()
    return team


def wait_for(condition, *, timeout: float, what: str, consumers) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s\n{consumers.logs()}")
        time.sleep(0.01)


def requested(fake_graph) -> list[str]:
    """Everyone a send reached the fake Graph for, once per send (answered or not)."""
    return [r.json["to"] for r in fake_graph.requests_to("send")]


def accepted(fake_graph) -> dict[str, str]:
    """Who Meta took a message for (the fake answers even a caller that died): number → id."""
    return {s["to"]: s["id"] for s in fake_graph.sent}


def statuses(broadcast_id: int) -> dict[str, BroadcastRecipient]:
    return {
        r.phone.lstrip("+"): r for r in BroadcastRecipient.objects.filter(broadcast_id=broadcast_id)
    }


def kill_mid_call(consumer: ConsumerProcess, fake_graph, consumers) -> None:
    """Kills the consumer once some sends are done, right after a send reached the fake (so
    that one, at least, is cut off mid-call: it has LATENCY seconds to go)."""
    wait_for(
        lambda: len(requested(fake_graph)) >= 6,
        timeout=30,
        what="the first consumer sending",
        consumers=consumers,
    )
    seen = len(requested(fake_graph))
    wait_for(
        lambda: len(requested(fake_graph)) > seen,
        timeout=5,
        what="one more send",
        consumers=consumers,
    )
    consumer.kill()
    time.sleep(LATENCY + 0.3)  # the fake answers the calls in flight, to nobody


def assert_cut_off_sends_are_not_sent(broadcast_id: int, fake_graph) -> dict[str, str]:
    """Right after the kill: some sent, some waiting, and whoever Meta took a message for
    without the consumer hearing back is still `sending` (not `sent`, not `queued`)."""
    recipients = statuses(broadcast_id)
    at_kill = {phone: r.status for phone, r in recipients.items()}
    counts = Counter(at_kill.values())
    assert 0 < counts["sent"] and counts["queued"] > 0, counts
    taken = accepted(fake_graph)
    sent = {phone: r.message_id for phone, r in recipients.items() if r.status == "sent"}
    assert all(taken[phone] == message_id for phone, message_id in sent.items())
    cut_off = set(taken) - set(sent)
    assert cut_off, "the kill landed between calls"
    assert {at_kill[phone] for phone in cut_off} == {"sending"}
    return at_kill


def test_it_resumes_a_broadcast_after_its_consumer_is_killed_and_sends_nobody_it_twice(
    church, fake_graph, consumers
):
    fake_graph.delay = LATENCY
    body = {
        "name": "Easter invitation",
        "group_ids": [church.group.pk],
        "template": {
            "name": "sunday_service",
            "language": "en_US",
            "variables": ["{{first_name}}", "10 am"],
        },
    }
    response = api_client(church.owner).post("/api/broadcasts", body, format="json")
    assert response.status_code == 201 and response.json()["recipients_total"] == PEOPLE
    broadcast_id = response.json()["id"]

    kill_mid_call(consumers.start(), fake_graph, consumers)
    at_kill = assert_cut_off_sends_are_not_sent(broadcast_id, fake_graph)
    sent_before = len(requested(fake_graph))

    # A new consumer; the minute tick finds the dead one's lease still live: nothing is sent.
    consumers.start()
    tasks.broadcasts_tick()
    wait_for(lambda: HUEY.pending_count() == 0, timeout=30, what="tick taken", consumers=consumers)
    time.sleep(1)
    assert len(requested(fake_graph)) == sent_before

    # Once the lease lapses, the tick hands the broadcast to the new consumer.
    lease_until = Broadcast.objects.get(pk=broadcast_id).lease_until
    wait_for(lambda: timezone.now() > lease_until, timeout=35, what="lease", consumers=consumers)
    tasks.broadcasts_tick()
    wait_for(
        lambda: Broadcast.objects.get(pk=broadcast_id).status == "done",
        timeout=30,
        what="the broadcast done",
        consumers=consumers,
    )

    final = statuses(broadcast_id)
    taken = accepted(fake_graph)
    # Nobody was sent it twice, and only those waiting at the kill were sent it after.
    assert max(Counter(requested(fake_graph)).values()) == 1
    assert set(requested(fake_graph)[sent_before:]) == {
        phone for phone, status in at_kill.items() if status == "queued"
    }
    # Those cut off mid-call (taken by Meta or not) are `unknown`; everyone else was sent it.
    assert {p for p, r in final.items() if r.status == "unknown"} == {
        p for p, status in at_kill.items() if status == "sending"
    }
    assert {r.error_code for r in final.values() if r.status == "unknown"} == {"cut_off"}
    for phone, recipient in final.items():
        if recipient.status != "unknown":
            assert recipient.status == "sent" and recipient.message_id == taken[phone]
    # The counts add up; every message Meta took is a `sent` or an `unknown` one.
    counts = api_client(church.owner).get(f"/api/broadcasts/{broadcast_id}").json()["counts"]
    assert counts["total"] == PEOPLE == counts["sent"] + counts["unknown"]
    assert counts["queued"] == counts["failed"] == counts["skipped"] == 0
    assert counts["sent"] <= len(taken) <= PEOPLE
    assert Broadcast.objects.get(pk=broadcast_id).lease_owner == ""
