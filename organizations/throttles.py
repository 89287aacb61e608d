"""Rate limits of the account and organization endpoints, and the API's throttle for live
credential tests. Each limit has one function here, used by the pages and the API alike, on
the project's shared counters (`common.throttles`). A refusal is RateLimited (429 `throttled`
with Retry-After); a cache that does not answer is CacheUnavailable (503)."""

from django.conf import settings

from common.throttles import (
    CountingThrottle,
    RateLimited,
    credential_test_wait,
    rate_limit_hit,
    rate_limits_hit,
)
from organizations.models import normalize_email
from organizations.request_context import api_membership, client_ip


def _address(request) -> str:
    return client_ip(request) or "unknown"


def _raise_if(wait: int | None) -> None:
    if wait is not None:
        raise RateLimited(wait)


def login_check(request) -> None:
    """One login attempt (a page, the admin, the two-factor step or the API) from this client
    address. Failed logins also count towards the lockout (organizations/lockout.py)."""
    _raise_if(rate_limit_hit(scope="login", ident=_address(request), rate=settings.LOGIN_RATE))


def signup_check(request) -> None:
    """One sign-up (the page, the invitation page or the API) from this client address."""
    _raise_if(rate_limit_hit(scope="signup", ident=_address(request), rate=settings.SIGNUP_RATE))


def password_reset_check(request, email) -> None:
    """One password-reset request, counted per client address and per email."""
    rate = settings.PASSWORD_RESET_RATE
    limits = [("password_reset", f"ip:{_address(request)}", rate)]
    email = normalize_email(email if isinstance(email, str) else "")
    if email:
        limits.append(("password_reset", f"email:{email}", rate))
    _raise_if(rate_limits_hit(limits))


def invitation_check(*, organization_id, user_id) -> None:
    """One invitation email sent for this organization (a new one or one sent again), counted
    per organization and per sender, so that opening new organizations resets nothing."""
    rate = settings.INVITATION_RATE
    limits = [
        ("invitation", f"org:{organization_id}", rate),
        ("invitation", f"user:{user_id}", rate),
    ]
    _raise_if(rate_limits_hit(limits))


def organization_create_check(*, user_id) -> None:
    """One new organization (the page, or sign-up with an organization) by this user."""
    _raise_if(
        rate_limit_hit(
            scope="organization_create",
            ident=f"user:{user_id}",
            rate=settings.ORGANIZATION_CREATE_RATE,
        )
    )


class CredentialTestThrottle(CountingThrottle):
    """Limits live credential tests per user, per organization and per client address (the
    view's throttle_scope).

    Only POST (a test) and PUT (a save, which tests first) reach the provider; reads and
    deletes on the same view are not counted."""

    def count(self, request, view):
        if request.method not in ("POST", "PUT"):
            return None
        scope = getattr(view, "throttle_scope", "credential_test")
        return credential_test_wait(
            scope=scope, membership=api_membership(request), ip=client_ip(request)
        )
