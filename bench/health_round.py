"""Health round benchmark: every stored credential of 1,000 organizations checked once, by one
task consumer and by two, against the local fakes answering with 50 ms latency.

    .venv/bin/python bench/health_round.py                 # SQLite database and SQLite queue
    HUEY_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/health_round.py   # Redis queue

Each run: a fresh SQLite database in a temporary directory (migrated), 1,000 organizations
each with an AI key (OpenAI protocol) and a WhatsApp connection, every one with a key and a
token of its own so the fakes can tell the organizations apart, all due now. The fake AI
providers and the fake Graph API run in this process with 50 ms before every answer. The
periodic round (the same task the consumer's scheduler runs every minute) queues the checks;
then N consumers (`manage.py run_huey`, separate processes, HUEY_WORKERS threads each) work
through the queue. Reported: checks per second from the consumers' start until the last
check is recorded, that every organization's key and token were checked exactly once
(requests counted at the fakes, per key and per token), and that no two checks of one
organization overlapped (each check holds the organization's claim from before its request
until after the answer, which the fakes give LATENCY after the request arrives: two requests
of one organization arriving closer together than that were checks running at once).
See docs/benchmarks.md.
Exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID, FakeGraph  # noqa: E402
from devtools.fakes.providers import VALID_KEYS, FakeProviders  # noqa: E402

LATENCY = 0.05


class TimedRequests(list):
    """The fakes' request log, with when each request arrived (the fakes record a request as
    it arrives, then wait LATENCY before answering)."""

    def __init__(self):
        super().__init__()
        self.arrived: list[float] = []

    def append(self, request) -> None:
        self.arrived.append(time.monotonic())
        super().append(request)

    def clear(self) -> None:
        self.arrived.clear()
        super().clear()

    def timed(self):
        return zip(self.arrived, self, strict=True)


def overlapping(arrivals: dict[str, list[float]]) -> int:
    """Organizations with two requests that arrived less than LATENCY apart (a little less:
    timers may wake early), i.e. two checks running at once."""
    close = 0.9 * LATENCY
    return sum(
        1
        for times in arrivals.values()
        if any(b - a < close for a, b in zip(sorted(times), sorted(times)[1:], strict=False))
    )


def org_key(i: int) -> str:
    return f"{VALID_KEYS['openai'][:-10]}{i:06d}Bnch"


def org_token(i: int) -> str:
    return f"{VALID_TOKEN[:-10]}{i:06d}Bnch"


def environment(workdir: Path, providers: FakeProviders, graph: FakeGraph) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "CACHE_URL": "locmemcache://",
            "HUEY_SQLITE_PATH": str(workdir / "huey.sqlite3"),
            "HUEY_IMMEDIATE": "false",
            "HUEY_NAME": f"health-bench-{os.getpid()}",
            "OPENAI_BASE_URL": providers.base_urls()["OPENAI_BASE_URL"],
            "WHATSAPP_GRAPH_BASE_URL": graph.url + "/v25.0",
            "AI_PROVIDER_TIMEOUT": "10",
            "EMAIL_URL": "consolemail://",
            "LOG_LEVEL": "WARNING",
            # As the README advises for consumer processes: an outbound slot per worker.
            "OUTBOUND_CONCURRENCY": os.environ.get("HUEY_WORKERS", "2"),
        }
    )
    return env


def seed(organizations: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from aiconfig.models import AIConfig
    from organizations.models import Organization
    from whatsapp.models import WhatsAppConfig

    call_command("migrate", verbosity=0)
    due = timezone.now()
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Church {i}", slug=f"church-{i}") for i in range(organizations)
    )
    AIConfig.objects.bulk_create(
        AIConfig(
            organization=org,
            provider="openai",
            api_key=org_key(i),
            model="gpt-5.4-mini",
            health_status="ok",
            next_check_at=due,
        )
        for i, org in enumerate(orgs)
    )
    WhatsAppConfig.objects.bulk_create(
        WhatsAppConfig(
            organization=org,
            phone_number_id=PHONE_NUMBER_ID,
            business_account_id=WABA_ID,
            access_token=org_token(i),
            webhook_id=f"bench-{i}",
            health_status="ok",
            next_check_at=due,
        )
        for i, org in enumerate(orgs)
    )


def run(consumers: int, organizations: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="health-bench-") as tmp,
        FakeProviders() as providers,
        FakeGraph() as graph,
    ):
        workdir = Path(tmp)
        providers.generation_delay = LATENCY
        graph.delay = LATENCY
        providers.requests = TimedRequests()
        graph.requests = TimedRequests()
        for i in range(organizations):
            providers.key_scenarios[org_key(i)] = "ok"
            graph.tokens[org_token(i)] = "valid"
        env = environment(workdir, providers, graph)
        os.environ.update(env)
        import django

        django.setup()
        from django.utils import timezone
        from huey.contrib.djhuey import HUEY

        from aiconfig.models import AIConfig
        from aiconfig.tasks import ai_health_round
        from whatsapp.models import WhatsAppConfig
        from whatsapp.tasks import whatsapp_health_round

        seed(organizations)
        HUEY.flush()
        started_round = timezone.now()
        ai_health_round()  # queued; the consumers run the round, which queues the checks
        whatsapp_health_round()
        providers.requests.clear()
        graph.requests.clear()
        procs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "run_huey", "--no-periodic", "--quiet"],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(consumers)
        ]
        t0 = time.monotonic()
        total = 2 * organizations
        try:
            while True:
                done = (
                    AIConfig.objects.filter(last_checked_at__gte=started_round).count()
                    + WhatsAppConfig.objects.filter(last_checked_at__gte=started_round).count()
                )
                if done >= total or time.monotonic() - t0 > 900:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - t0
            time.sleep(1)  # anything checked twice would show up by now
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
        ai_per_key = collections.Counter(
            r.headers.get("authorization", "").removeprefix("Bearer ")
            for r in providers.requests_for("openai")
        )
        graph_per_token = collections.Counter(
            r.headers.get("Authorization", "").removeprefix("Bearer ")
            for r in graph.requests
            if r.path.endswith(PHONE_NUMBER_ID)
        )
        # Every request of each organization (its key's and its token's), by arrival time.
        organization_of = {org_key(i): i for i in range(organizations)}
        organization_of.update({org_token(i): i for i in range(organizations)})
        arrivals = collections.defaultdict(list)
        for arrived, r in [*providers.requests.timed(), *graph.requests.timed()]:
            credential = (
                r.headers.get("authorization") or r.headers.get("Authorization") or ""
            ).removeprefix("Bearer ")
            if credential in organization_of:
                arrivals[organization_of[credential]].append(arrived)
        problems = [r for r in (AIConfig.objects.exclude(health_status="ok").count(),) if r] + [
            r for r in (WhatsAppConfig.objects.exclude(health_status="ok").count(),) if r
        ]
        return {
            "consumers": consumers,
            "workers": int(env.get("HUEY_WORKERS", "2")),
            "queue": "redis" if env.get("HUEY_URL") else "sqlite",
            "checks": done,
            "seconds": round(elapsed, 1),
            "checks_per_second": round(done / elapsed, 1),
            "keys_checked_once": sum(
                1 for i in range(organizations) if ai_per_key[org_key(i)] == 1
            ),
            "tokens_checked_once": sum(
                1 for i in range(organizations) if graph_per_token[org_token(i)] == 1
            ),
            "checked_twice": sum(1 for n in ai_per_key.values() if n > 1)
            + sum(1 for n in graph_per_token.values() if n > 1),
            "not_ok": sum(problems),
            "overlapping": overlapping(arrivals),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--consumers", type=int, required=True, help="consumer processes")
    args = parser.parse_args()
    result = run(args.consumers, args.organizations)
    print(" ".join(f"{k}={v}" for k, v in result.items()))
    ok = (
        result["checks"] == 2 * args.organizations
        and result["keys_checked_once"] == args.organizations
        and result["tokens_checked_once"] == args.organizations
        and result["checked_twice"] == 0
        and result["not_ok"] == 0
        and result["overlapping"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
