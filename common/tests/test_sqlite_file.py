"""Production's defaults on a SQLite file, with several processes and threads at once: the
database cache counts rate limits across processes (its table comes with `migrate`), and
concurrent writes wait for each other instead of failing with "database is locked"."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    """DEBUG=false, no CACHE_URL, a migrated SQLite file."""
    tmp_path = tmp_path_factory.mktemp("sqlite-file")
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="x" * 50,
        CRYPTOGRAPHY_KEY="y" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        HUEY_SQLITE_PATH=str(tmp_path / "huey.sqlite3"),
    )
    migrate = run(env, [sys.executable, "manage.py", "migrate", "--noinput"])
    assert migrate.returncode == 0, migrate.stderr
    return env


def run(env, args):
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180)


HIT_SCRIPT = """
import django, sys, time
django.setup()
from django.conf import settings
from common.throttles import rate_limit_hit
assert settings.CACHES["default"]["BACKEND"] == "common.cache.DatabaseCache"
while time.time() < float(sys.argv[1]):
    time.sleep(0.01)
allowed = sum(rate_limit_hit(scope="procs", ident="u", rate="7/min") is None for _ in range(4))
print(allowed)
"""


def test_it_counts_across_processes_with_the_database_cache(production_env):
    start_at = str(time.time() + 4)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HIT_SCRIPT, start_at],
            cwd=BASE_DIR,
            env=production_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    assert sum(int(out) for out, _ in results) == 7


WRITE_SCRIPT = """
import django, threading
django.setup()
from django.db import connection, transaction
from organizations.models import Organization

start = threading.Barrier(8)
errors = []

def write(n):
    start.wait()
    try:
        for i in range(5):
            # Read, then write, in one transaction: a deferred transaction cannot take the
            # write lock while another writes ("database is locked" at once, no waiting).
            with transaction.atomic():
                Organization.objects.count()
                Organization.objects.create(name=f"Church {n}-{i}", slug=f"church-{n}-{i}")
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(errors), Organization.objects.filter(slug__startswith="church-").count())
print(errors[:3])
"""


def test_it_makes_concurrent_writes_wait_on_sqlite(production_env):
    result = run(production_env, [sys.executable, "-c", WRITE_SCRIPT])
    assert result.returncode == 0, result.stderr
    counts = result.stdout.splitlines()[0]
    assert counts == "0 40", result.stdout
