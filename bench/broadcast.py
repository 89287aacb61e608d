"""Broadcast benchmark: a broadcast to 1,000 contacts against the local fake Graph API with
30 ms latency, on PostgreSQL with Redis as the task queue, loopback only.

    .venv/bin/python bench/broadcast.py          # see docs/benchmarks.md for the figures

It drops and re-creates the database `church_messaging_bench_broadcast`, migrates and seeds it
(an organization with WhatsApp connected to the fake, an approved template, 1,000 consenting
contacts in one group), starts gunicorn and the Huey consumers with WHATSAPP_SEND_RATE=50 (the
organization's broadcast sends in flight: BROADCAST_OUTBOUND_PER_ORG, its default 8 unless
`--broadcast-per-org`), then measures two runs:

  1. one consumer sends one broadcast to the 1,000 contacts: time to done against the ideal
     (1,000 / 50 = 20 s), the most sends the fake saw in any one-second window, and the
     latency of GET /api/broadcasts/<id> polled meanwhile (p50, p99);
  2. two consumers send two broadcasts of 500 each at once, from the same number: the rate cap
     must hold across both consumers together.

Options: `--database-url`, `--redis-url` (the cache, and the queue unless `--huey-url`).
Everything started here is stopped, and the database dropped, at the end (also on failure).
Exit status 0 when every check holds, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.load import (  # noqa: E402
    HOST,
    Client,
    Server,
    drop_database,
    free_port,
    recreate_database,
)
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID, FakeGraph  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/church_messaging_bench_broadcast"
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"
RATE = 50
CONTACTS = 1000


def environment(args, fake: FakeGraph, port: int) -> dict[str, str]:
    import secrets

    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="bench-" + secrets.token_urlsafe(48),
        CRYPTOGRAPHY_KEY="bench-" + secrets.token_urlsafe(32),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        DATABASE_URL=args.database_url,
        CACHE_URL=args.redis_url,
        HUEY_URL=args.huey_url or args.redis_url,
        HUEY_NAME="bench-broadcast-" + secrets.token_hex(4),
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        WHATSAPP_GRAPH_BASE_URL=fake.url + "/v25.0",
        WHATSAPP_SEND_RATE=str(RATE),
        WHATSAPP_DEFAULT_MESSAGING_LIMIT="100000",
        # The plan's monthly broadcast recipients (the Free plan's 500) are not measured here.
        PLAN_FREE_BROADCAST_RECIPIENTS="100000",
        # The consumers' outbound slots: at least the sends a broadcast keeps in flight
        # (BROADCAST_SEND_THREADS, 6); broadcasts have their own allowance per organization.
        OUTBOUND_CONCURRENCY="8",
        JWT_ACCESS_MINUTES="60",
        LOG_LEVEL="WARNING",
        GUNICORN_BIND=f"{HOST}:{port}",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="4",
    )
    if args.broadcast_per_org is not None:
        env["BROADCAST_OUTBOUND_PER_ORG"] = str(args.broadcast_per_org)
    return env


def seed() -> dict:
    from django.core.management import call_command
    from django.utils import timezone

    from messaging import services as message_services
    from messaging.models import Contact, ContactGroup
    from organizations.models import Membership, Organization, Role, User
    from organizations.tokens import tokens_for_user
    from whatsapp import services as whatsapp_services

    call_command("migrate", "--noinput", verbosity=0)
    org = Organization.objects.create(name="Bench Church", slug="bench-church")
    owner = User.objects.create_user(email="owner@bench.test", password="x" * 20)
    membership = Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    whatsapp_services.whatsapp_config_save(
        membership=membership,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=VALID_TOKEN,
    )
    message_services.template_sync(organization=org)
    groups = {}
    for name in ("Everyone", "First half", "Second half"):
        groups[name] = ContactGroup.objects.create(organization=org, name=name)
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                organization=org,
                name=f"Person {i}",
                phone=f"+5511{900000000 + i}",
                opted_in_at=now,
            )
            for i in range(CONTACTS)
        ]
    )
    through = Contact.groups.through
    links = [through(contact_id=c.pk, contactgroup_id=groups["Everyone"].pk) for c in contacts]
    half = CONTACTS // 2
    links += [
        through(
            contact_id=c.pk,
            contactgroup_id=groups["First half" if i < half else "Second half"].pk,
        )
        for i, c in enumerate(contacts)
    ]
    through.objects.bulk_create(links)
    token = tokens_for_user(owner)["access"]
    return {"token": token, "groups": {name: g.pk for name, g in groups.items()}}


class Consumers:
    def __init__(self, env: dict[str, str], count: int, log_dir: Path):
        self.processes = []
        self.logs = []
        for i in range(count):
            log = open(log_dir / f"consumer-{i}.log", "wb")  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "run_huey", "--workers", "2", "-k", "thread"],
                    cwd=BASE_DIR,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for log in self.logs:
            log.close()


def max_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(label: str, url: str, token: str, fake: FakeGraph, bodies: list[dict]) -> dict:
    fake.sent.clear()
    client = Client(url, token)
    started = time.monotonic()
    ids = []
    for body in bodies:
        status, payload = client.request("POST", "/api/broadcasts", body)
        assert status == 201, payload
        ids.append(json.loads(payload)["id"])
    latencies: list[float] = []
    done = threading.Event()

    def poll():
        reader = Client(url, token)
        while not done.is_set():
            t0 = time.monotonic()
            status, _ = reader.request("GET", f"/api/broadcasts/{ids[0]}")
            if status == 200:
                latencies.append(time.monotonic() - t0)
            time.sleep(0.1)
        reader.close()

    poller = threading.Thread(target=poll)
    poller.start()
    finished = None
    deadline = started + 300
    while time.monotonic() < deadline:
        states = []
        for broadcast_id in ids:
            status, payload = client.request("GET", f"/api/broadcasts/{broadcast_id}")
            states.append(json.loads(payload)["status"])
        if all(state == "done" for state in states):
            finished = time.monotonic()
            break
        time.sleep(0.2)
    done.set()
    poller.join()
    counts = []
    for broadcast_id in ids:
        status, payload = client.request("GET", f"/api/broadcasts/{broadcast_id}")
        counts.append(json.loads(payload)["counts"])
    client.close()
    times = [s["at"] for s in fake.sent]
    sent_to = [s["to"] for s in fake.sent]
    latencies.sort()
    return {
        "label": label,
        "counts": counts,
        "seconds": (finished - started) if finished else None,
        "sent": len(sent_to),
        "unique": len(set(sent_to)),
        "max_per_second": max_in_one_second(times),
        "reads": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="the cache (and the queue)")
    parser.add_argument("--huey-url", default="", help="the task queue (default: --redis-url)")
    parser.add_argument(
        "--broadcast-per-org",
        type=int,
        default=None,
        help="BROADCAST_OUTBOUND_PER_ORG: broadcast sends in flight at once for the organization",
    )
    args = parser.parse_args()

    fake = FakeGraph().start()
    fake.delay = 0.030
    fake.add_template("sunday_service", body="Hi {{1}}, our service starts at {{2}}. Welcome!")
    port = free_port()
    env = environment(args, fake, port)
    os.environ.update(env)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    server = consumers = None
    failures: list[str] = []
    try:
        print("Preparing the database (drop, create, migrate, seed 1,000 contacts)…")
        recreate_database(args.database_url)
        import django

        django.setup()
        seeded = seed()
        from django.db import connections

        connections.close_all()
        server = Server(env, log_dir)
        server.wait_until_healthy()
        template = {
            "name": "sunday_service",
            "language": "en_US",
            "variables": ["{{first_name}}", "10 am"],
        }
        ideal = CONTACTS / RATE
        results = []
        for count, bodies in (
            (
                1,
                [
                    {
                        "name": "All",
                        "group_ids": [seeded["groups"]["Everyone"]],
                        "template": template,
                    }
                ],
            ),
            (
                2,
                [
                    {
                        "name": "First",
                        "group_ids": [seeded["groups"]["First half"]],
                        "template": template,
                    },
                    {
                        "name": "Second",
                        "group_ids": [seeded["groups"]["Second half"]],
                        "template": template,
                    },
                ],
            ),
        ):
            consumers = Consumers(env, count, log_dir)
            time.sleep(2)  # consumers start
            result = run(f"{count} consumer(s)", server.url, seeded["token"], fake, bodies)
            consumers.stop()
            consumers = None
            results.append(result)
            print(json.dumps(result))
            if result["seconds"] is None:
                failures.append(f"{result['label']}: did not finish")
            if result["sent"] != CONTACTS or result["unique"] != CONTACTS:
                failures.append(f"{result['label']}: sent {result['sent']} to {result['unique']}")
            if result["max_per_second"] > RATE:
                failures.append(f"{result['label']}: {result['max_per_second']} sends in a second")
            if count == 1 and result["seconds"] and result["seconds"] > 1.3 * ideal:
                failures.append(
                    f"{result['label']}: {result['seconds']:.1f} s > 1.3 x {ideal:.0f} s"
                )
            if result["p99_ms"] is not None and result["p99_ms"] > 200:
                failures.append(f"{result['label']}: p99 {result['p99_ms']:.0f} ms")
    finally:
        if consumers is not None:
            consumers.stop()
        if server is not None:
            server.stop()
        fake.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - best effort before dropping the database
            pass
        drop_database(args.database_url)
    print("All checks hold." if not failures else "FAILED:\n  " + "\n  ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
