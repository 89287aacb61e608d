"""Rate limits on calls that cost an organization money or hit a provider: live credential
tests (per user and per organization) and AI drafts and WhatsApp sends (per user).

Counts live in the default cache as fixed-window counters changed with atomic add/incr, so
with CACHE_URL pointing at Redis a limit holds across processes and servers, even under a
burst (DRF's own throttles read, change and write back a list, which a burst slips through).
The API's throttle classes and the pages use the same counters."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/min" -> (10, 60): that many uses per that many seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def rate_limit_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Counts one use. None when it is within the limit, else the seconds until it resets."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:{scope}:{ident}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 0, timeout=period + 1)
        count = cache.incr(key)
    if count <= limit:
        return None
    return max(1, int((window + 1) * period - now + 0.999))


def credential_test_wait(*, scope: str, membership) -> int | None:
    """One live credential test by this member: None if allowed, else seconds to wait."""
    rate = settings.AI_KEY_TEST_RATE
    waits = [
        rate_limit_hit(scope=scope, ident=f"user:{membership.user_id}", rate=rate),
        rate_limit_hit(scope=scope, ident=f"org:{membership.organization_id}", rate=rate),
    ]
    waits = [w for w in waits if w is not None]
    return max(waits) if waits else None


def message_wait(*, user_id) -> int | None:
    """One AI draft or WhatsApp send by this user: None if allowed, else seconds to wait."""
    return rate_limit_hit(scope="messages", ident=f"user:{user_id}", rate=settings.MESSAGES_RATE)


def too_many_message(wait: int) -> str:
    return f"Too many requests in a short time. Try again in {wait} seconds."


class CountingThrottle(BaseThrottle):
    def allow_request(self, request, view):
        self._wait = self.count(request, view)
        return self._wait is None

    def wait(self):
        return self._wait


class MessageThrottle(CountingThrottle):
    """Limits AI drafts and WhatsApp sends per user."""

    def count(self, request, view):
        return message_wait(user_id=request.user.pk)
