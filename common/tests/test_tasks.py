"""The claim that keeps two background tasks off the same thing (common/tasks.py): one holder at
a time across threads (and so processes), a stale claim taken over, a release that only frees
the holder's own claim, and a busy claim retried as a plain retry."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connections
from django.utils import timezone
from huey.exceptions import RetryTask

from common.http import Busy
from common.models import TaskClaim
from common.tasks import ClaimBusy, claim, retried_when_busy

KEY = "health-check:42"
STALE = timedelta(minutes=5)

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(target):
    """Runs `target` in a thread of its own (its own database connection); returns the thread."""

    def run():
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_it_lets_one_of_two_threads_hold_the_claim():
    held, release = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with claim(KEY, stale_after=STALE):
            held.set()
            release.wait(10)
        outcome["first"] = "done"

    def second():
        try:
            with claim(KEY, stale_after=STALE):
                outcome["second"] = "held"
        except ClaimBusy:
            outcome["second"] = "busy"

    holder = in_thread(first)
    assert held.wait(10)
    in_thread(second).join(10)
    release.set()
    holder.join(10)
    assert outcome == {"first": "done", "second": "busy"}
    assert not TaskClaim.objects.filter(key=KEY).exists()  # released
    with claim(KEY, stale_after=STALE):  # free again
        assert TaskClaim.objects.filter(key=KEY).count() == 1


def test_it_releases_the_claim_when_the_block_fails():
    with pytest.raises(ValueError), claim(KEY, stale_after=STALE):
        raise ValueError("the check broke")
    assert not TaskClaim.objects.filter(key=KEY).exists()


def test_it_takes_over_a_claim_left_by_a_consumer_that_died():
    TaskClaim.objects.create(
        key=KEY, claimed_at=timezone.now() - STALE - timedelta(seconds=1), token="dead"
    )
    with claim(KEY, stale_after=STALE):
        assert TaskClaim.objects.get(key=KEY).token != "dead"
    assert not TaskClaim.objects.filter(key=KEY).exists()


def test_it_leaves_a_recent_claim_alone():
    TaskClaim.objects.create(key=KEY, claimed_at=timezone.now() - timedelta(minutes=1), token="t")
    with pytest.raises(ClaimBusy), claim(KEY, stale_after=STALE):
        pass
    assert TaskClaim.objects.get(key=KEY).token == "t"


def test_it_releases_only_its_own_claim_after_a_takeover():
    slow = claim(KEY, stale_after=STALE)
    slow.__enter__()
    # The holder took so long that its claim went stale, and another task took it over.
    TaskClaim.objects.filter(key=KEY).update(claimed_at=timezone.now() - 2 * STALE)
    successor = claim(KEY, stale_after=STALE)
    successor.__enter__()
    slow.__exit__(None, None, None)  # the slow one finishes: the successor keeps its claim
    assert TaskClaim.objects.filter(key=KEY).exists()
    with pytest.raises(ClaimBusy), claim(KEY, stale_after=STALE):
        pass
    successor.__exit__(None, None, None)
    assert not TaskClaim.objects.filter(key=KEY).exists()


def test_it_retries_a_task_that_finds_the_claim_busy_using_up_one_retry():
    task = SimpleNamespace(retries=2)
    with pytest.raises(RetryTask), retried_when_busy(task):
        raise ClaimBusy(KEY)
    assert task.retries == 1
    task.retries = 0  # none left: the busy claim is the error it has become
    with pytest.raises(ClaimBusy), retried_when_busy(task):
        raise ClaimBusy(KEY)
    with pytest.raises(ValueError), retried_when_busy(SimpleNamespace(retries=2)):
        raise ValueError("other errors go through")


def test_it_retries_a_task_that_finds_every_outbound_slot_taken():
    task = SimpleNamespace(retries=1)
    with pytest.raises(RetryTask), retried_when_busy(task):
        raise Busy()
    assert task.retries == 0
    with pytest.raises(Busy), retried_when_busy(task):
        raise Busy()
