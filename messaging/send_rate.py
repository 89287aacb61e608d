"""Per-number throughput: at most WHATSAPP_SEND_RATE messages a second from one phone number,
across every consumer together (Meta answers 130429 beyond its own limit).

Each send claims the next free moment of its number with one UPDATE of one row (atomic on
PostgreSQL and SQLite alike), then waits until that moment. Slots are spaced a little wider than
1/rate so that a send delayed on its way cannot bunch with the next one into a second that
holds more than the rate."""

import time

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from messaging.models import SendRateSlot

# Room for a few tens of milliseconds of jitter between claiming a slot and reaching Meta.
SPACING_MARGIN = 1.08


def _claim_returning(phone_number_id: str, now: float, interval: float) -> float | None:
    """One UPDATE ... RETURNING (PostgreSQL and SQLite ≥ 3.35 alike): the row's new next_at,
    or None when the number has no row yet."""
    table = connection.ops.quote_name(SendRateSlot._meta.db_table)
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_at = {later}(next_at, %s) + %s "  # noqa: S608
            "WHERE phone_number_id = %s RETURNING next_at",
            [now, interval, phone_number_id],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def send_slot_claim(*, phone_number_id: str, rate: float | None = None) -> float:
    """Claims this number's next send slot; returns the moment (time.time()) to send at."""
    rate = rate or settings.WHATSAPP_SEND_RATE
    interval = SPACING_MARGIN / rate
    now = time.time()
    for _ in range(2):
        # One statement, atomic by itself: no transaction around it (the claim is the hot path
        # of every broadcast send).
        next_at = _claim_returning(phone_number_id, now, interval)
        if next_at is not None:
            return next_at - interval
        try:
            with transaction.atomic():
                SendRateSlot.objects.create(phone_number_id=phone_number_id, next_at=now + interval)
            return now
        except IntegrityError:
            continue  # another consumer created it first: claim through the update
    raise RuntimeError("could not claim a send slot")  # pragma: no cover


def send_slot_wait(*, phone_number_id: str, rate: float | None = None) -> None:
    """Claims a slot and sleeps until it comes."""
    delay = send_slot_claim(phone_number_id=phone_number_id, rate=rate) - time.time()
    if delay > 0:
        time.sleep(delay)
