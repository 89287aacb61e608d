"""A real Huey consumer for tests and benchmarks: worker threads that take tasks from a real
queue (a SQLite file in a temporary directory; Redis when HUEY_URL is set, under a queue name
of its own), so tasks go through serialization, the queue, the scheduler and retries exactly
as in production, instead of running inline (HUEY_IMMEDIATE).

    with RealConsumer(workers=2, sqlite_dir=tmp_path) as consumer:
        check_ai_key(org.id)                  # enqueued, run by a worker thread
        consumer.wait_idle()                  # queue empty, nothing running
        assert consumer.completed("check_ai_key") == 1

Tests use it through the `huey_consumer` fixture (root conftest.py); they need the database
rows committed (`transactional_db`), since the workers use connections of their own.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from huey import signals
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

# Signals that end one execution of a task (a retry ends one and schedules the next).
_FINAL = {
    signals.SIGNAL_COMPLETE,
    signals.SIGNAL_ERROR,
    signals.SIGNAL_CANCELED,
    signals.SIGNAL_EXPIRED,
    signals.SIGNAL_LOCKED,
    signals.SIGNAL_REVOKED,
    signals.SIGNAL_INTERRUPTED,
    signals.SIGNAL_TIMEOUT,
    signals.SIGNAL_RATE_LIMITED,
}


_CLOSE_CONNECTIONS = "devtools-close-db-connections"


def _close_connections():
    # Each worker thread closes its own database connections when it stops, so the test
    # database can be dropped (a production consumer keeps them, as CONN_MAX_AGE says).
    connections.close_all()


@dataclass(frozen=True)
class Finished:
    signal: str
    task: str  # the task's name, e.g. "check_ai_key"
    task_id: str
    error: str = ""


class RealConsumer:
    """Starts `workers` consumer threads on a fresh real queue; stop() puts the project's
    Huey back as it was (immediate mode in tests)."""

    def __init__(self, *, workers: int = 2, sqlite_dir: Path | None = None, periodic: bool = False):
        self.workers = workers
        self.sqlite_dir = sqlite_dir
        self.periodic = periodic
        self.finished: list[Finished] = []
        self._running: set[str] = set()  # ids of the tasks executing now
        self._lock = threading.Lock()
        self._consumer = None
        self._saved = None

    # -- lifecycle -------------------------------------------------------------------------

    def _storage(self):
        name = f"{HUEY.name}-test-{uuid.uuid4().hex[:12]}"
        if getattr(settings, "HUEY_URL", ""):
            # A queue name of its own: parallel runs sharing the Redis never see each other.
            return HUEY.storage_class(name, **HUEY.storage_kwargs)
        if self.sqlite_dir is None:
            raise ValueError("sqlite_dir is needed for the SQLite queue")
        return SqliteStorage(name, filename=str(Path(self.sqlite_dir) / "huey-queue.sqlite3"))

    def start(self) -> RealConsumer:
        self._saved = (HUEY.immediate, HUEY.storage)
        HUEY._immediate = False  # the setter would build a storage from the settings
        HUEY.storage = self._storage()
        HUEY.signal()(self._on_signal)
        HUEY.on_shutdown(name=_CLOSE_CONNECTIONS)(_close_connections)
        self._consumer = HUEY.create_consumer(
            workers=self.workers,
            worker_type="thread",
            periodic=self.periodic,
            initial_delay=0.01,
            backoff=1.1,
            max_delay=0.05,
            scheduler_interval=1,
            check_worker_health=False,
            shutdown_timeout=30,
        )
        self._consumer._set_signal_handlers = lambda: None  # the test runner keeps its own
        self._consumer.start()
        return self

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None
        HUEY.disconnect_signal(self._on_signal)
        HUEY.unregister_on_shutdown(_CLOSE_CONNECTIONS)
        if self._saved is not None:
            try:
                HUEY.storage.flush_all()
            finally:
                HUEY._immediate, HUEY.storage = self._saved
                self._saved = None

    def __enter__(self) -> RealConsumer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- observing -------------------------------------------------------------------------

    def _on_signal(self, signal, task, exc=None):
        with self._lock:
            if signal == signals.SIGNAL_EXECUTING:
                self._running.add(task.id)
            elif signal in _FINAL or signal == signals.SIGNAL_RETRYING:
                if signal in _FINAL:
                    self.finished.append(
                        Finished(signal, task.name, task.id, repr(exc) if exc else "")
                    )
                # RETRYING ends an execution too: after ERROR, or alone when the task raised
                # RetryTask (e.g. a busy claim, common.tasks.retried_when_busy).
                self._running.discard(task.id)

    def wait_idle(self, timeout: float = 20.0, include_scheduled: bool = True) -> None:
        """Waits until the queue is empty, no task is running and (by default) nothing is
        scheduled for later; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            with self._lock:
                running = len(self._running)
            busy = running or HUEY.pending_count()
            if include_scheduled:
                busy = busy or HUEY.scheduled_count()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 0.15:  # a dequeued task shows up by then
                return
            time.sleep(0.02)
        raise AssertionError(
            f"the consumer was still busy after {timeout}s: {HUEY.pending_count()} queued, "
            f"{HUEY.scheduled_count()} scheduled, {len(self._running)} running"
        )

    def completed(self, task_name: str) -> int:
        return sum(1 for f in self.finished if f.task == task_name and f.signal == "complete")

    def errors(self) -> list[Finished]:
        return [f for f in self.finished if f.signal == signals.SIGNAL_ERROR]
