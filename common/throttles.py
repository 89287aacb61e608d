"""Rate limits: live credential tests (per user, per organization and per client address),
AI drafts and WhatsApp sends (per user), and whatever else calls `rate_limit_hit`.

A sliding window, counted in the default cache so that every process shares it (Redis, or
Django's database cache; local memory only in development). The window of a rate such as
"10/min" is cut into SLOTS slots; a use adds one to the current slot with the cache's atomic
`incr`, then reads the slots that cover the last period. The sum covers the current slot and
SLOTS whole slots before it, a little more than one period, so no stretch of one period ever
holds more than the limit, also across a window edge (a fixed window allowed twice the rate
there). A refused use is taken back, so only uses that went ahead count. Concurrent uses never
overshoot: each one judges by the count its own increment returned.

When the cache does not answer, a limited action is refused with CacheUnavailable (503 and
Retry-After), never allowed unlimited and never a 500."""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from rest_framework.throttling import BaseThrottle

from common.errors import ServiceError

try:  # Redis is the production cache; its errors are what "the cache is down" looks like.
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SLOTS = 10
CACHE_ERRORS = (RedisError, DatabaseError, OSError)
CACHE_DOWN_RETRY_AFTER = 30


class RateLimited(ServiceError):
    """Too many uses: 429 `throttled`, with the seconds to wait (sent as Retry-After)."""

    status = 429

    def __init__(self, wait: int, message: str | None = None):
        super().__init__(message or too_many_message(wait), code="throttled")
        self.retry_after = wait


class CacheUnavailable(ServiceError):
    """The shared cache that counts uses does not answer: 503, try again shortly."""

    status = 503

    def __init__(self):
        super().__init__(
            "This action is briefly unavailable. Please try again in a minute.",
            code="temporarily_unavailable",
        )
        self.retry_after = CACHE_DOWN_RETRY_AFTER


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/min" -> (10, 60): that many uses per that many seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


@dataclass(frozen=True)
class _Limit:
    scope: str
    ident: str
    rate: str


def _key_prefix(limit: _Limit, period: int) -> str:
    # Idents may be e-mail addresses or carry any character: hashed, keys stay short and safe.
    digest = hashlib.sha256(limit.ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"rl:{limit.scope}:{period}:{digest}"


def _take(limit: _Limit, now: float) -> tuple[str | None, int | None]:
    """Counts one use. (key of the counted slot, None) when within the limit, else
    (None, seconds to wait) with nothing counted."""
    allowed, period = parse_rate(limit.rate)
    slot_seconds = period / SLOTS
    current = int(now // slot_seconds)
    prefix = _key_prefix(limit, period)
    key = f"{prefix}:{current}"
    ttl = period + 2 * slot_seconds + 1
    cache.add(key, 0, timeout=ttl)
    try:
        mine = cache.incr(key)
    except ValueError:  # the slot expired between add and incr
        cache.add(key, 0, timeout=ttl)
        mine = cache.incr(key)
    # The current slot as our increment left it (later ones are not ours to count), plus the
    # earlier slots, which no longer grow.
    slots = [f"{prefix}:{index}" for index in range(current - SLOTS, current)]
    counts = cache.get_many(slots)
    counts[key] = mine
    slots.append(key)
    total = sum(int(counts.get(slot) or 0) for slot in slots)
    if total <= allowed:
        return key, None
    _give_back(key)
    # Wait until enough of the oldest uses leave the window for one more to fit.
    excess = total - allowed
    for offset, slot in enumerate(slots):
        excess -= int(counts.get(slot) or 0)
        if excess <= 0:
            # Slot `current - SLOTS + offset` is out of the sum once the current slot is
            # `current + offset + 1`.
            leaves_at = (current + offset + 1) * slot_seconds
            return None, max(1, math.ceil(leaves_at - now))
    return None, period  # pragma: no cover (the own use is in the last slot)


def _give_back(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:  # expired meanwhile: nothing left to take back
        pass


def rate_limits_hit(limits: list[tuple[str, str, str]]) -> int | None:
    """Counts one use against every (scope, ident, rate) at once: None when all allow it,
    else the longest wait in seconds, and then nothing is counted anywhere."""
    now = time.time()
    taken, waits = [], []
    try:
        for scope, ident, rate in limits:
            key, wait = _take(_Limit(scope, ident, rate), now)
            if wait is None:
                taken.append(key)
            else:
                waits.append(wait)
        if waits:
            for key in taken:
                _give_back(key)
            return max(waits)
    except CACHE_ERRORS:
        raise CacheUnavailable() from None
    return None


def rate_limit_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Counts one use. None when it is within the limit, else the seconds to wait (nothing
    counted). Raises CacheUnavailable when the cache does not answer."""
    return rate_limits_hit([(scope, ident, rate)])


def credential_test_wait(*, scope: str, membership, ip: str | None) -> int | None:
    """One live credential test by this member from this address: None if allowed, else
    seconds to wait. Counted per user, per organization and per client address, so neither
    new accounts nor new organizations reset it."""
    rate = settings.AI_KEY_TEST_RATE
    limits = [
        (scope, f"user:{membership.user_id}", rate),
        (scope, f"org:{membership.organization_id}", rate),
    ]
    if ip:
        limits.append((scope, f"ip:{ip}", rate))
    return rate_limits_hit(limits)


def message_wait(*, user_id) -> int | None:
    """One AI draft or WhatsApp send by this user: None if allowed, else seconds to wait."""
    return rate_limit_hit(scope="messages", ident=f"user:{user_id}", rate=settings.MESSAGES_RATE)


def too_many_message(wait: int) -> str:
    unit = "second" if wait == 1 else "seconds"
    return f"Too many requests in a short time. Try again in {wait} {unit}."


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
