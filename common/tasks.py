"""Helpers for background tasks (Huey).

`claim(key)` keeps two tasks from working on the same thing at once, across every consumer
process and machine: the claim is a database row, and a claim left behind by a consumer that
died is taken over once it is older than `stale_after`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

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
        TaskClaim.objects.filter(key=key, token=token).delete()
