"""Helpers for background tasks (Huey).

`claim(key)` keeps two tasks from working on the same thing at once, across every consumer
process and machine: the claim is a database row, and a claim left behind by a consumer that
died is taken over once it is older than `stale_after`. `retried_when_busy(task)` turns a busy
claim, or a full outbound bulkhead, into a plain retry of the task (not an error).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from huey.exceptions import RetryTask

from common.http import Busy
from common.models import TaskClaim


class ClaimBusy(Exception):
    """Another task holds the claim."""


@contextmanager
def claim(key: str, *, stale_after: timedelta) -> Iterator[None]:
    """Holds the claim `key` for the duration of the block; raises ClaimBusy when another
    task holds it."""
    now = timezone.now()
    token = secrets.token_hex(16)
    try:
        with transaction.atomic():
            TaskClaim.objects.create(key=key, claimed_at=now, token=token)
    except IntegrityError:
        taken_over = TaskClaim.objects.filter(key=key, claimed_at__lt=now - stale_after).update(
            claimed_at=now, token=token
        )
        if not taken_over:
            raise ClaimBusy(key) from None
    try:
        yield
    finally:
        # Only our own claim: one taken over meanwhile (we were too slow) is another's now.
        TaskClaim.objects.filter(key=key, token=token).delete()


@contextmanager
def retried_when_busy(task) -> Iterator[None]:
    """Runs the block of the Huey task `task` (a `context=True` task); when it raises
    ClaimBusy or common.http.Busy, the task runs again after its retry_delay, using up one of
    its retries.

    Both are expected (another check of the same organization is running; every outbound slot
    is taken for a moment), so they are retried as Huey's RetryTask, which Huey logs as
    information, not as an error with a traceback. Once the retries are used up, the busy
    error goes through as the error it has become.
    """
    try:
        yield
    except (ClaimBusy, Busy):
        if task is None or task.retries <= 0:
            raise
        # RetryTask does not use up a retry by itself: without this, a claim that stays busy
        # would be retried for ever.
        task.retries -= 1
        raise RetryTask() from None
