"""The health of a stored credential (an AI key, a WhatsApp token), as the background checks,
key tests, saves, drafts and sends see it. Shared by aiconfig/ and whatsapp/: the fields, the
rules that move a credential between states, and when its next check is due.

States: `unknown` (never checked), `ok`, `failing` (a transient error, or a first authorization
failure), `needs_attention` (AUTH_FAILURE_THRESHOLD authorization failures in a row, or a
problem that needs a person at once: no quota left, a restricted number). Transient errors
(timeout, 5xx, rate limits) neither count towards the threshold nor reset it, and they do not
take a credential out of `needs_attention`: only a success does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from django.conf import settings
from django.db import models

AUTH_FAILURE_THRESHOLD = 2


class HealthStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "Working"
    FAILING = "failing", "Failing"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


class Outcome(StrEnum):
    OK = "ok"
    AUTH_FAILURE = "auth_failure"  # counts towards the threshold
    ATTENTION = "attention"  # needs a person now
    TRANSIENT = "transient"  # try again later; says nothing about the credential


@dataclass(frozen=True)
class CheckResult:
    outcome: Outcome
    error_code: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK


CHECK_OK = CheckResult(Outcome.OK)


class CredentialHealth(models.Model):
    """Health fields of a stored credential (abstract: one set per credential model)."""

    health_status = models.CharField(
        max_length=20, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    consecutive_auth_failures = models.PositiveSmallIntegerField(default=0)
    # When the current status began, and when owners and admins were emailed about it (once
    # per episode of needs_attention).
    health_changed_at = models.DateTimeField(null=True, blank=True)
    attention_notified_at = models.DateTimeField(null=True, blank=True)
    # When the periodic round checks it next (None: not scheduled yet; the round spreads it).
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def needs_attention(self) -> bool:
        return self.health_status == HealthStatus.NEEDS_ATTENTION


@dataclass(frozen=True)
class Change:
    """What one check result did to a credential's health."""

    before: str
    after: str

    @property
    def entered_attention(self) -> bool:
        return self.after == HealthStatus.NEEDS_ATTENTION != self.before

    @property
    def cleared(self) -> bool:
        return self.before == HealthStatus.NEEDS_ATTENTION != self.after


HEALTH_FIELDS = (
    "health_status",
    "last_checked_at",
    "last_check_ok",
    "last_error_code",
    "consecutive_auth_failures",
    "health_changed_at",
    "attention_notified_at",
)


def apply_result(credential: CredentialHealth, result: CheckResult, now: datetime) -> Change:
    """Moves `credential` (in memory) to the state `result` leads to; the caller saves
    HEALTH_FIELDS."""
    before = credential.health_status
    credential.last_checked_at = now
    credential.last_check_ok = result.ok
    credential.last_error_code = result.error_code[:40]
    if result.outcome == Outcome.OK:
        credential.consecutive_auth_failures = 0
        after = HealthStatus.OK
    elif result.outcome == Outcome.AUTH_FAILURE:
        credential.consecutive_auth_failures += 1
        if credential.consecutive_auth_failures >= AUTH_FAILURE_THRESHOLD:
            after = HealthStatus.NEEDS_ATTENTION
        else:
            after = (
                HealthStatus.NEEDS_ATTENTION
                if before == HealthStatus.NEEDS_ATTENTION
                else HealthStatus.FAILING
            )
    elif result.outcome == Outcome.ATTENTION:
        after = HealthStatus.NEEDS_ATTENTION
    else:  # transient
        after = (
            HealthStatus.NEEDS_ATTENTION
            if before == HealthStatus.NEEDS_ATTENTION
            else HealthStatus.FAILING
        )
    if after != before:
        credential.health_status = after
        credential.health_changed_at = now
    if after != HealthStatus.NEEDS_ATTENTION:
        credential.attention_notified_at = None
    return Change(before=before, after=after)


# --- when the next check is due -------------------------------------------------------------


def check_interval() -> timedelta:
    """HEALTH_CHECK_INTERVAL_HOURS (decimals allowed: 0.01 is 36 seconds)."""
    return timedelta(hours=float(settings.HEALTH_CHECK_INTERVAL_HOURS))


def first_check_at(now: datetime) -> datetime:
    """Somewhere in the next interval, at random: credentials saved or migrated together
    (ten thousand at a deploy) spread over the whole interval instead of all checking at once."""
    return now + check_interval() * random.random()


def following_check_at(previous: datetime) -> datetime:
    """One interval after `previous`, give or take HEALTH_CHECK_JITTER (a fraction of the
    interval), so that checks which once ran together drift apart."""
    jitter = float(settings.HEALTH_CHECK_JITTER)
    return previous + check_interval() * (1 + random.uniform(-jitter, jitter))


# At most this many checks of one credential are queued by one call of claim_due_checks (an
# interval shorter than the round's horizon, e.g. 0.01 hours against a one-minute round).
MAX_CHECKS_PER_CLAIM = 10


class DueCheck(NamedTuple):
    """One check of one stored credential, due at `due`."""

    pk: int  # the credential's row: an organization may have several (a main and a backup key)
    organization_id: int
    due: datetime


def claim_due_checks(
    model: type[CredentialHealth], *, now: datetime, horizon: timedelta
) -> list[DueCheck]:
    """The checks of `model`'s credentials due before `now + horizon`, each claimed once: the
    credential's next_check_at moves on with a compare-and-set, so two rounds running at once
    (two consumers) never queue one check twice.

    A credential never scheduled gets a random time within the next interval; one far behind
    (no consumer ran for a while) gets a single check now rather than every one it missed."""
    window_end = now + horizon
    candidates = model.objects.filter(
        models.Q(next_check_at__isnull=True) | models.Q(next_check_at__lte=window_end)
    ).values_list("pk", "organization_id", "next_check_at")
    claimed: list[DueCheck] = []
    for pk, organization_id, scheduled in candidates.iterator():
        due_times: list[datetime] = []
        if scheduled is None:
            following = first_check_at(now)
        else:
            following = max(scheduled, now)  # one check now for all that were missed
            while following <= window_end and len(due_times) < MAX_CHECKS_PER_CLAIM:
                due_times.append(following)
                following = following_check_at(following)
            following = max(following, now)
        if model.objects.filter(pk=pk, next_check_at=scheduled).update(next_check_at=following):
            claimed.extend(DueCheck(pk, organization_id, due) for due in due_times)
    return claimed


# --- how the API and the pages show it ------------------------------------------------------


def health_summary(credential: CredentialHealth, advice) -> dict:
    """{status, last_checked_at, error_code, message}: `message` says what to do (from
    `advice(error_code)`) while the credential is failing or needs attention."""
    troubled = credential.health_status in (HealthStatus.FAILING, HealthStatus.NEEDS_ATTENTION)
    error_code = credential.last_error_code or None if troubled else None
    return {
        "status": credential.health_status,
        "last_checked_at": credential.last_checked_at,
        "error_code": error_code,
        "message": advice(error_code) if troubled else None,
    }
