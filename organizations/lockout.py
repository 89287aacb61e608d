"""Brute-force protection of the login page and of `POST /api/auth/token` (django-axes).

Failed logins are counted per email *and* client address: after AXES_FAILURE_LIMIT failures
that pair is refused, even with the right password, until AXES_COOLOFF_TIME has passed since
the last failure (each refused try restarts it), a password reset through the emailed link,
`manage.py axes_reset_username <email>`, or deleting the record in the admin.
Counting the pair, not the email alone, keeps an attacker from locking a user out everywhere.

Axes itself hooks into `django.contrib.auth.authenticate` (its backend refuses a locked-out
pair; its signal receivers count failures). This module tells it which email is tried,
answers a locked-out attempt with a page that says so (or JSON on the API), and clears the
count after a successful login or a password reset.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.views import TokenObtainPairView

from common.api_errors import error_body
from organizations import services, throttles
from organizations.models import normalize_email
from organizations.request_context import client_ip

LOCKED_OUT_CODE = "locked_out"


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def locked_out_message() -> str:
    minutes = lockout_minutes()
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed login attempts. Try again in {minutes} {unit}, "
        "or reset your password to unlock your account now."
    )


def attempted_email(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the email being tried. The login form sends it as `username`
    (Django's form field name), the API as `email`; stored normalized, as accounts are."""
    value = None
    if credentials:
        value = credentials.get("email") or credentials.get("username")
    if not value and request is not None:
        try:
            data = getattr(request, "data", None)  # DRF's parsed body
        except Exception:  # an unparsable body has no email in it
            data = None
        if not hasattr(data, "get"):
            data = request.POST
        value = data.get("email") or data.get("login") or data.get("username")
    if not isinstance(value, str) or not value.strip():
        return None
    return normalize_email(value)[:255]


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: what a locked-out attempt gets (429), instead of the login page's
    usual answer. JSON under /api/, in case an API view authenticates; a page elsewhere."""
    if request.path.startswith("/api/"):
        return locked_out_api_response()
    context = {
        "email": attempted_email(request, credentials) or "",
        "minutes": lockout_minutes(),
        "message": locked_out_message(),
        "reset_url": reverse("account_reset_password"),
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def locked_out_api_response():
    # A plain JsonResponse: the lockout middleware may return it outside any DRF view.
    response = JsonResponse(error_body(locked_out_message(), code=LOCKED_OUT_CODE), status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


class TokenObtainView(TokenObtainPairView):
    """`POST /api/auth/token`: simplejwt's view, counted against LOGIN_RATE, with the
    lockout answered as JSON 429 `locked_out` rather than the usual 401, and a success
    clearing the failed-login count (as a successful login on the page does)."""

    def post(self, request, *args, **kwargs):
        throttles.login_check(request)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # Axes flags the request it was given: DRF's request, which is this one.
            if getattr(request, "axes_locked_out", False):
                return locked_out_api_response()
            raise
        email = attempted_email(request, None)
        if email:
            services.login_lockout_reset(email=email, ip=client_ip(request))
        return response
