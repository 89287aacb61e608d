"""The broadcast engine: sends one broadcast's template to its recipients from the task engine,
within Meta's rules.

- One consumer drives a broadcast at a time: it holds a lease on the row and renews it while it
  claims recipients and while it waits out a back-off; a consumer killed mid-broadcast lets it
  lapse, and the minute tick (messaging/tasks.py) hands the broadcast to whichever consumer
  runs next.
- Each recipient is claimed (queued → sending) before Meta is called and marked after, so a
  send cut off mid-call stays `sending` and is reported `unknown`: never sent twice.
- Consent is checked again just before each send (an opt-out or a deletion after the broadcast
  was made skips that person, with the reason).
- The pace: the number's rate (messaging/send_rate.py), its messaging limit (unique people
  outside their window per 24 hours) and 6 seconds between messages to one person (both
  shared by every broadcast and consumer: pacing.py), the organization's own allowance of
  broadcast sends in flight (common/http.py, apart from its interactive requests'), and Meta's
  answers: a recipient's own error marks that recipient and the broadcast goes on; throughput
  errors back off; errors about the template, the number or the account pause the broadcast."""

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from common.errors import ServiceError
from common.http import BROADCAST, Busy, bulkhead
from messaging import services as message_services
from messaging.broadcasts import alerts, pacing
from messaging.broadcasts.selectors import recipient_skip_code
from messaging.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Contact,
    MessageRecord,
    MessageTemplate,
    RecipientStatus,
)
from messaging.send_rate import send_slot_wait
from plans.services import broadcast_recipients_release
from whatsapp import graph
from whatsapp.models import MESSAGING_LIMIT_UNLIMITED
from whatsapp.selectors import whatsapp_config_for

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
# How often the lease is renewed (and a pause or cancel noticed): far below the lease, also
# while a thread waits out a back-off longer than the lease.
LEASE_CHECK_SECONDS = 1.0
# A send that did not reach Meta (unreachable, Meta's 5xx) is tried again this many times.
MAX_ATTEMPTS = 4
MAX_BACKOFF_SECONDS = 60
BUSY_WAIT_SECONDS = 0.2
# Errors after which Meta may have taken the message anyway.
SENT_MAYBE = ("timeout", "invalid_response")


@dataclass
class Pause:
    """Why the broadcast stops for now, and when it may go on by itself (None: someone has to
    look first, then press Resume)."""

    code: str
    reason: str
    resume_at: datetime | None = None
    alert: bool = False


class _Run:
    """One driving of one broadcast by this consumer; its sending threads share it."""

    def __init__(self, broadcast: Broadcast, template: MessageTemplate, lease_owner: str):
        self.broadcast = broadcast
        self.organization = broadcast.organization
        self.template = template
        self.lease_owner = lease_owner
        # Read once a lease check (LEASE_CHECK_SECONDS), not once a send: a number
        # disconnected or a token changed meanwhile is seen within a second.
        self.config = whatsapp_config_for(broadcast.organization)
        self.phone_number_id = self.config.phone_number_id
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.pause: Pause | None = None
        self.limit = messaging_limit_for(broadcast.organization)
        self.backoff_until = 0.0
        self.lease_renewed = 0.0

    def halt(self, pause: Pause) -> None:
        with self.lock:
            if self.pause is None:
                self.pause = pause
        self.stop.set()


# --- reads the engine needs --------------------------------------------------------------------


def messaging_limit_for(organization) -> int | None:
    """Unique people the number may reach outside their window per 24 hours (None: no limit).
    The health check reads it from Meta; until it has, Meta's limit for a new business."""
    config = whatsapp_config_for(organization)
    if config is None:
        return settings.WHATSAPP_DEFAULT_MESSAGING_LIMIT
    if config.messaging_limit_tier == MESSAGING_LIMIT_UNLIMITED:
        return None
    return config.messaging_limit or settings.WHATSAPP_DEFAULT_MESSAGING_LIMIT


# --- the lease ---------------------------------------------------------------------------------


def _lease_take(broadcast_id: int, owner: str) -> bool:
    """Takes the broadcast for this consumer unless another one holds a live lease."""
    now = timezone.now()
    return bool(
        Broadcast.objects.filter(
            pk=broadcast_id, status__in=[BroadcastStatus.QUEUED, BroadcastStatus.SENDING]
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(lease_until=now + LEASE, lease_owner=owner)
    )


def _lease_renew(run: _Run) -> bool:
    """Renews the lease; False when the broadcast was paused or cancelled meanwhile (or the
    lease was lost), so the run stops."""
    return bool(
        Broadcast.objects.filter(
            pk=run.broadcast.pk, status=BroadcastStatus.SENDING, lease_owner=run.lease_owner
        ).update(lease_until=timezone.now() + LEASE)
    )


def _lease_release(broadcast_id: int, owner: str) -> None:
    Broadcast.objects.filter(pk=broadcast_id, lease_owner=owner).update(
        lease_until=None, lease_owner=""
    )


# --- driving a broadcast -----------------------------------------------------------------------


def broadcast_run(*, broadcast_id: int) -> None:
    """Sends the broadcast until it is done, paused or cancelled. Idempotent and safe to run
    twice or concurrently: only the holder of the lease sends, and only queued recipients."""
    owner = uuid.uuid4().hex
    if not _lease_take(broadcast_id, owner):
        return
    try:
        _drive(broadcast_id, owner)
    finally:
        _lease_release(broadcast_id, owner)


def _drive(broadcast_id: int, owner: str) -> None:
    broadcast = Broadcast.objects.select_related("organization").get(pk=broadcast_id)
    pause = _cannot_start(broadcast)
    if pause:
        broadcast_pause_apply(broadcast=broadcast, pause=pause)
        return
    template = _template_of(broadcast)
    # Only the lease holder sends: a recipient still `sending` was cut off mid-call by a
    # consumer that stopped. Meta may have taken it, so it is not sent again.
    BroadcastRecipient.objects.filter(broadcast=broadcast, status=RecipientStatus.SENDING).update(
        status=RecipientStatus.UNKNOWN, error_code="cut_off"
    )
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=BroadcastStatus.SENDING,
        started_at=broadcast.started_at or timezone.now(),
        pause_reason="",
        pause_code="",
        resume_at=None,
    )
    run = _Run(broadcast, template, owner)
    count = max(1, settings.BROADCAST_SEND_THREADS)
    if count == 1:
        _sender(run)
    else:
        # Meta's answer takes tens of milliseconds: a few sends in flight keep up the rate.
        threads = [
            threading.Thread(target=_sender, args=(run, True), name=f"broadcast-{broadcast.pk}-{i}")
            for i in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if run.pause:
        broadcast_pause_apply(broadcast=broadcast, pause=run.pause)
        return
    _cancel_leftovers(broadcast)
    _finish_if_done(broadcast)


def _cannot_start(broadcast: Broadcast) -> Pause | None:
    config = whatsapp_config_for(broadcast.organization)
    if config is None:
        return Pause("not_configured", "Connect your WhatsApp number in Settings, then resume.")
    if config.token_unreadable:
        return Pause(
            "token_unreadable", "The stored access token can no longer be read: save it again."
        )
    template = _template_of(broadcast)
    if template is None or not template.sendable:
        return Pause(
            "template_not_approved",
            "The template is no longer approved or was removed at Meta. Sync your templates "
            "and check it, then resume.",
        )
    return None


def _template_of(broadcast: Broadcast) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(
        organization=broadcast.organization,
        name=broadcast.template_name,
        language=broadcast.template_language,
    ).first()


def _cancel_leftovers(broadcast: Broadcast) -> None:
    """Cancelled while sending: those a thread put back (it stopped before their turn) are
    cancelled too, and given back to the plan, as the cancel did for the others."""
    if Broadcast.objects.filter(pk=broadcast.pk, status=BroadcastStatus.CANCELLED).exists():
        with transaction.atomic():
            left = BroadcastRecipient.objects.filter(
                broadcast=broadcast, status=RecipientStatus.QUEUED
            ).update(status=RecipientStatus.CANCELLED)
            broadcast_recipients_release(organization=broadcast.organization, count=left)


def _finish_if_done(broadcast: Broadcast) -> None:
    left = BroadcastRecipient.objects.filter(
        broadcast=broadcast, status__in=[RecipientStatus.QUEUED, RecipientStatus.SENDING]
    )
    if (
        left.filter(not_before__isnull=False).exists()
        and not left.filter(not_before__isnull=True).exists()
    ):
        # Only people waiting out a back-off are left: the minute tick picks the broadcast up.
        return
    if not left.exists():
        Broadcast.objects.filter(pk=broadcast.pk, status=BroadcastStatus.SENDING).update(
            status=BroadcastStatus.DONE, finished_at=timezone.now()
        )


def _sender(run: _Run, own_thread: bool = False) -> None:
    try:
        while not run.stop.is_set():
            recipient, wait = _claim_next(run)
            if recipient is not None:
                _send_one(run, recipient)
            elif wait is not None:
                _wait(run, wait)  # people waiting out a short back-off
            else:
                return
    except Exception:  # a bug must not leave the other threads waiting for ever
        logger.exception("broadcast %s: sending thread failed", run.broadcast.pk)
        run.halt(Pause("internal_error", "Sending stopped because of an error on our side."))
    finally:
        if own_thread:
            connection.close()


def _lease_keep(run: _Run) -> bool:
    """Renews the lease, at most every LEASE_CHECK_SECONDS whichever thread asks; False once
    the run has stopped (paused, cancelled, lease lost, or halted by another thread)."""
    with run.lock:
        if time.monotonic() - run.lease_renewed >= LEASE_CHECK_SECONDS:
            if not _lease_renew(run):
                run.stop.set()
            run.config = whatsapp_config_for(run.organization)
            run.lease_renewed = time.monotonic()
    return not run.stop.is_set()


def _wait(run: _Run, seconds: float) -> bool:
    """Waits in steps far shorter than the lease, renewing it meanwhile: a back-off can outlast
    the lease, and another consumer must not take the broadcast over (and report the
    recipients this one holds `unknown`) while this one is still going to send. False when
    the run stopped meanwhile."""
    deadline = time.monotonic() + seconds
    while _lease_keep(run):
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        run.stop.wait(min(left, LEASE_CHECK_SECONDS))
    return False


def _claim_next(run: _Run) -> tuple[BroadcastRecipient | None, float | None]:
    """The next queued recipient, now marked `sending` (one claim at a time per run); else
    how long until someone waiting out a short back-off may go (None: nobody is left)."""
    if not _lease_keep(run):
        return None, None
    with run.lock:
        now = timezone.now()
        queued = BroadcastRecipient.objects.filter(
            broadcast=run.broadcast, status=RecipientStatus.QUEUED
        )
        candidates = (
            queued.filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .select_related("contact")
            .order_by("id")
        )
        for recipient in candidates[:5]:
            claimed = BroadcastRecipient.objects.filter(
                pk=recipient.pk, status=RecipientStatus.QUEUED
            ).update(status=RecipientStatus.SENDING, attempts=F("attempts") + 1)
            if claimed:
                recipient.status = RecipientStatus.SENDING
                recipient.attempts += 1
                return recipient, None
        soonest = queued.order_by("not_before").values_list("not_before", flat=True).first()
        if soonest is None:
            return None, None
        wait = (soonest - now).total_seconds()
        # Longer waits are left to the minute tick, which drives the broadcast again.
        return None, (max(0.05, wait) if wait <= MAX_BACKOFF_SECONDS else None)


def _requeue(recipient: BroadcastRecipient, *, after_seconds: float) -> None:
    # Only while still ours: one reported `unknown` by another consumer is never sent again.
    BroadcastRecipient.objects.filter(pk=recipient.pk, status=RecipientStatus.SENDING).update(
        status=RecipientStatus.QUEUED,
        not_before=timezone.now() + timedelta(seconds=after_seconds),
    )


def _mark(recipient: BroadcastRecipient, status: str, **fields) -> None:
    BroadcastRecipient.objects.filter(pk=recipient.pk, status=RecipientStatus.SENDING).update(
        status=status, **fields
    )


def _send_one(run: _Run, recipient: BroadcastRecipient) -> None:
    digits = recipient.phone.lstrip("+")
    # Messaged moments ago (another broadcast, the composer): this person waits, the others go.
    too_soon = pacing.person_wait(
        organization=run.organization, phone_number_id=run.phone_number_id, to=digits
    )
    if too_soon > 0:
        _requeue(recipient, after_seconds=too_soon)
        _undo_attempt(recipient)
        return
    # Meta said the number sends too fast: everyone waits (the lease kept meanwhile).
    waits = run.backoff_until - time.time()
    if not _wait(run, waits):
        _requeue(recipient, after_seconds=0)
        _undo_attempt(recipient)
        return
    contact = _contact_if_still_eligible(run, recipient, read_again=waits > 0)
    if contact is None:
        return
    # Counted against the number's messaging limit before the send, with every broadcast and
    # consumer sending from the number, so together they cannot overshoot it.
    newly_counted = pacing.messaging_limit_reserve(
        organization=run.organization,
        phone_number_id=run.phone_number_id,
        to=digits,
        limit=run.limit,
    )
    if newly_counted is None:
        _requeue(recipient, after_seconds=0)
        run.halt(_messaging_limit_pause(run))
        return
    if not _deliver(run, recipient, contact) and newly_counted:  # nothing reached the person
        pacing.messaging_limit_release(phone_number_id=run.phone_number_id, to=digits)


def _contact_if_still_eligible(
    run: _Run, recipient: BroadcastRecipient, *, read_again: bool
) -> Contact | None:
    """The contact as it is now, if they may still receive the broadcast: someone who opted
    out (STOP, Meta's user_preferences or 131050) or was deleted since the broadcast was made
    is skipped with the reason, and given back to the plan's monthly recipients. The claim
    read the contact moments ago, with the recipient; read again after a back-off wait."""
    if read_again or recipient.contact_id is None:
        contact = Contact.objects.filter(pk=recipient.contact_id).first()
    else:
        contact = recipient.contact
    code = recipient_skip_code(contact, marketing=run.template.category == "MARKETING")
    if not code:
        return contact
    with transaction.atomic():
        skipped = BroadcastRecipient.objects.filter(
            pk=recipient.pk, status=RecipientStatus.SENDING
        ).update(status=RecipientStatus.SKIPPED, error_code=code, attempts=F("attempts") - 1)
        broadcast_recipients_release(organization=run.organization, count=skipped)
    return None


class _TooSoon(Exception):
    """Another send claimed this person's next message first."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds


def _before_call(run: _Run, digits: str) -> None:
    """Just before Meta is called: the number's next send slot, then the person's next
    message (claimed last, so the time between two messages to one person holds at Meta)."""
    send_slot_wait(phone_number_id=run.phone_number_id)
    wait = pacing.person_claim(phone_number_id=run.phone_number_id, to=digits)
    if wait > 0:
        raise _TooSoon(wait)


def _deliver(run: _Run, recipient: BroadcastRecipient, contact: Contact) -> bool:
    """Sends to the recipient in the number's next send slot; True when Meta accepted it, or
    may have (a call cut off: the person stays counted against the messaging limit)."""
    digits = recipient.phone.lstrip("+")
    try:
        # Consent was checked just now (above); the send fills in the person's fields and
        # opts them out on Meta's 131050. The number's send slot is claimed at the last moment,
        # once the outbound slot is held: what varies before the call (reads, the bulkhead) does
        # not bunch sends at Meta, and a send refused as Busy uses up no send slot. The slot
        # held is one of the organization's broadcast allowance: the send inside uses it.
        with bulkhead(organization_id=run.organization.pk, allowance=BROADCAST):
            record = message_services.template_message_send(
                organization=run.organization,
                template=run.template,
                variables=run.broadcast.variables,
                contact=contact,
                user=run.broadcast.created_by,
                check_consent=False,
                before_call=lambda: _before_call(run, digits),
                config=run.config,
            )
    except message_services.TemplateSendFailed as exc:
        _failed(run, recipient, exc.graph_error)
        if exc.graph_error.error_code in SENT_MAYBE:
            return True
        # Meta refused it: nothing reached the person, who need not wait the gap.
        pacing.person_release(phone_number_id=run.phone_number_id, to=digits)
        return False
    except (Busy, _TooSoon) as exc:
        # Every outbound slot (this process's, or the organization's for broadcasts) is in use,
        # or another broadcast messaged this person just now: this person waits, and this
        # thread too, a moment, rather than spin through the queue.
        wait = exc.seconds if isinstance(exc, _TooSoon) else BUSY_WAIT_SECONDS
        _requeue(recipient, after_seconds=wait)
        _undo_attempt(recipient)
        _wait(run, BUSY_WAIT_SECONDS)
        return False
    except ServiceError as exc:  # values Meta would refuse, or the number disconnected
        _mark(recipient, RecipientStatus.FAILED, error_code=exc.code)
        return False
    _mark(
        recipient,
        RecipientStatus.SENT,
        message_id=record.message_id,
        sent_at=timezone.now(),
        error_code="",
    )
    # A status Meta reported before the row had its message id.
    broadcast_recipient_status_apply_stored(recipient_id=recipient.pk, record=record)
    return True


def _failed(run: _Run, recipient: BroadcastRecipient, error: graph.GraphError) -> None:
    scope = error.scope
    if scope == graph.SCOPE_RECIPIENT:
        _mark(
            recipient,
            RecipientStatus.FAILED,
            error_code=error.error_code,
            meta_error_code=error.graph_code,
        )
        return
    if scope == graph.SCOPE_RATE_LIMIT:
        if error.graph_code == 131056:  # too fast for this person
            _requeue(recipient, after_seconds=pacing.person_gap().total_seconds())
            return
        # The number's throughput: everyone slows down.
        delay = min(MAX_BACKOFF_SECONDS, 2 ** min(recipient.attempts, 6))
        with run.lock:
            run.backoff_until = max(run.backoff_until, time.time() + delay)
        _requeue(recipient, after_seconds=delay)
        return
    if scope in (graph.SCOPE_TEMPLATE, graph.SCOPE_ACCOUNT):
        _requeue(recipient, after_seconds=0)
        _undo_attempt(recipient)
        run.halt(
            Pause(
                error.error_code,
                error.message,
                alert=scope == graph.SCOPE_ACCOUNT,
            )
        )
        return
    if error.error_code in SENT_MAYBE:
        # Meta may have taken it: never sent twice.
        _mark(recipient, RecipientStatus.UNKNOWN, error_code=error.error_code)
        return
    # Did not reach Meta, or Meta failed: try again later, a few times.
    if recipient.attempts >= MAX_ATTEMPTS:
        _mark(recipient, RecipientStatus.FAILED, error_code=error.error_code)
    else:
        _requeue(recipient, after_seconds=min(MAX_BACKOFF_SECONDS, 2**recipient.attempts))


def _undo_attempt(recipient: BroadcastRecipient) -> None:
    BroadcastRecipient.objects.filter(pk=recipient.pk).update(attempts=F("attempts") - 1)


def _messaging_limit_pause(run: _Run) -> Pause:
    frees_at = pacing.messaging_limit_frees_at(run.organization, run.phone_number_id)
    resume_at = frees_at or timezone.now() + timedelta(minutes=5)
    people = "1 person" if run.limit == 1 else f"{run.limit} people"
    return Pause(
        "messaging_limit",
        f"Your number reached its messaging limit: {people} outside their 24-hour window in "
        "24 hours. The broadcast goes on by itself when it may.",
        resume_at=resume_at,
    )


@transaction.atomic
def broadcast_pause_apply(*, broadcast: Broadcast, pause: Pause) -> None:
    """Pauses a sending or queued broadcast with the reason; alerts owners and admins once for
    errors about the number or the account."""
    paused = Broadcast.objects.filter(
        pk=broadcast.pk,
        status__in=[BroadcastStatus.QUEUED, BroadcastStatus.SENDING],
    ).update(
        status=BroadcastStatus.PAUSED,
        pause_code=pause.code,
        pause_reason=pause.reason,
        resume_at=pause.resume_at,
    )
    if paused and pause.alert:
        transaction.on_commit(lambda: alerts.broadcast_paused_alert(broadcast_id=broadcast.pk))


def broadcast_recipient_status_apply_stored(*, recipient_id: int, record: MessageRecord) -> None:
    """Applies the status the sent message already has (Meta's webhook can be faster than
    our write of the message id)."""
    from messaging.broadcasts.services import broadcast_recipient_status_apply

    if record.status in ("delivered", "read", "failed"):
        broadcast_recipient_status_apply(
            organization=record.organization,
            message_id=record.message_id,
            status=record.status,
            error_code=record.status_error_code,
        )
