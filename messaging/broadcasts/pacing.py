"""What one WhatsApp number may still do for one person, shared by every broadcast and every
consumer sending from it (rows in the database, not a run's memory):

- the messaging limit: the distinct people the number reached with a template in the last 24
  hours (its recorded sends, and the people reserved for a send under way) are counted under
  a lock on the number's row, and one more is reserved before the send (given back if it
  fails), so broadcasts sending at once cannot together exceed the limit;
- the gap between two messages to one person: the send claims the person's next moment with
  one conditional UPDATE (as messaging/send_rate.py does for the number), just before Meta is
  called, so two broadcasts to the same person cannot message them twice within the gap."""

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, FloatField, Min, Subquery
from django.utils import timezone

from messaging.models import MessageKind, MessageRecord, MessagingLimitLock, SendPair
from organizations.models import Organization

WINDOW = timedelta(hours=24)
# Room for a send delayed between its claim and Meta (the HTTP call's own work and jitter).
GAP_MARGIN_SECONDS = 0.5


def person_gap() -> timedelta:
    return timedelta(seconds=settings.BROADCAST_PERSON_GAP_SECONDS)


# --- the messaging limit -----------------------------------------------------------------------


def _template_sends(organization, phone_number_id: str, since: datetime):
    return (
        MessageRecord.objects.filter(
            organization=organization,
            kind=MessageKind.SEND,
            ok=True,
            phone_number_id=phone_number_id,
            created_at__gte=since,
        )
        .exclude(template_name="")
        .order_by()
    )


def _reserved(phone_number_id: str, since: datetime):
    return SendPair.objects.filter(phone_number_id=phone_number_id, reached_at__gte=since)


def people_reached_count(organization, phone_number_id: str) -> int:
    """The distinct people the number sent a template to in the last 24 hours, with those
    reserved for a send under way: the ones the messaging limit counts."""
    since = timezone.now() - WINDOW
    sent = _template_sends(organization, phone_number_id, since).values("to")
    return sent.union(_reserved(phone_number_id, since).values("to")).count()


def _lock_number(phone_number_id: str) -> None:
    """Locks the number's row until the transaction ends (created the first time)."""
    now = timezone.now()
    if MessagingLimitLock.objects.filter(phone_number_id=phone_number_id).update(counted_at=now):
        return
    try:
        with transaction.atomic():
            MessagingLimitLock.objects.create(phone_number_id=phone_number_id, counted_at=now)
    except IntegrityError:  # another consumer created it first: wait for its lock
        MessagingLimitLock.objects.filter(phone_number_id=phone_number_id).update(counted_at=now)


def messaging_limit_reserve(
    *, organization, phone_number_id: str, to: str, limit: int | None
) -> bool | None:
    """Counts the person (digits) against the number's messaging limit before a send. True:
    newly reserved (give it back with messaging_limit_release if the send fails); False:
    already counted in the last 24 hours, or the number has no limit; None: the limit is
    full."""
    if limit is None:
        return False
    with transaction.atomic():
        _lock_number(phone_number_id)
        now = timezone.now()
        since = now - WINDOW
        reached, counted = _reached_and_counted(organization, phone_number_id, since, to)
        if counted:
            return False
        if reached >= limit:
            return None
        _reserve_pair(phone_number_id, to, now)
        return True


def _reached_and_counted(
    organization, phone_number_id: str, since: datetime, to: str
) -> tuple[int, bool]:
    """In one query: the people counted (as people_reached_count), and whether this person
    is one of them."""
    sent = _template_sends(organization, phone_number_id, since).values("to")
    people = sent.union(_reserved(phone_number_id, since).values("to"))
    sql, params = people.query.sql_with_params()
    column = connection.ops.quote_name("to")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN people.{column} = %s THEN 1 ELSE 0 END), 0) "  # noqa: S608
            f"FROM ({sql}) people",
            [to, *params],
        )
        reached, counted = cursor.fetchone()
    return reached, bool(counted)


def _reserve_pair(phone_number_id: str, to: str, now: datetime) -> None:
    """Marks the person counted since now: one upsert of their row (INSERT ... ON CONFLICT,
    so person_claim creating the row meanwhile, without the number's lock, is no error)."""
    SendPair.objects.bulk_create(
        [SendPair(phone_number_id=phone_number_id, to=to, reached_at=now)],
        update_conflicts=True,
        unique_fields=["phone_number_id", "to"],
        update_fields=["reached_at"],
    )


def messaging_limit_release(*, phone_number_id: str, to: str) -> None:
    """Gives back a reservation whose send did not reach the person."""
    SendPair.objects.filter(phone_number_id=phone_number_id, to=to).update(reached_at=None)


def messaging_limit_frees_at(organization, phone_number_id: str) -> datetime | None:
    """When the oldest person counted leaves the 24 hours (None: nobody is counted)."""
    since = timezone.now() - WINDOW
    oldest = [
        _template_sends(organization, phone_number_id, since).aggregate(at=Min("created_at"))["at"],
        _reserved(phone_number_id, since).aggregate(at=Min("reached_at"))["at"],
    ]
    found = [at for at in oldest if at is not None]
    return min(found) + WINDOW if found else None


# --- the gap between two messages to one person ------------------------------------------------


def person_wait(*, organization, phone_number_id: str, to: str) -> float:
    """Seconds until the number may message the person again (0: now): after another
    broadcast's claim, or a message recorded from elsewhere (the composer) within the gap.
    Only a look (one query, read through the organization's row): the send claims with
    person_claim."""
    gap = person_gap()
    claimed = SendPair.objects.filter(phone_number_id=phone_number_id, to=to).values("next_at")
    messaged = (
        MessageRecord.objects.filter(
            organization=organization,
            kind=MessageKind.SEND,
            ok=True,
            to=to,
            created_at__gte=timezone.now() - gap,
        )
        .order_by("-created_at")
        .values("created_at")
    )
    pair, last = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            claimed=Subquery(claimed[:1], output_field=FloatField()),
            messaged=Subquery(messaged[:1], output_field=DateTimeField()),
        )
        .values_list("claimed", "messaged")
        .get()
    )
    wait = (pair or 0.0) - time.time()
    if last is not None:
        wait = max(wait, (last + gap - timezone.now()).total_seconds())
    return max(0.0, wait)


def person_claim(*, phone_number_id: str, to: str) -> float:
    """Claims the next message to the person: 0 when this send may go now (the next one waits
    the gap), else the seconds until it may."""
    now = time.time()
    next_at = now + person_gap().total_seconds() + GAP_MARGIN_SECONDS
    pairs = SendPair.objects.filter(phone_number_id=phone_number_id, to=to)
    for _ in range(2):
        if pairs.filter(next_at__lte=now).update(next_at=next_at):
            return 0.0
        taken = pairs.values_list("next_at", flat=True).first()
        if taken is not None:
            return max(0.01, taken - now)
        try:
            with transaction.atomic():
                SendPair.objects.create(phone_number_id=phone_number_id, to=to, next_at=next_at)
            return 0.0
        except IntegrityError:
            continue  # another consumer created it first: claim through the update
    raise RuntimeError("could not claim the person's next message")  # pragma: no cover


def person_release(*, phone_number_id: str, to: str) -> None:
    """Gives back a claim whose message Meta refused (nothing reached the person): a retry
    need not wait the gap. Nobody else can have claimed meanwhile (the claim is ahead)."""
    SendPair.objects.filter(phone_number_id=phone_number_id, to=to).update(next_at=0.0)
