"""Carries a just-tested key from "Test" to "Save" on the settings page.

A password input is never pre-filled, so after a successful test the browser no longer holds
the key. The key is kept encrypted in the user's session for a few minutes, and the page gets
only an opaque reference in a hidden field: "Save" with that reference saves what was tested."""

import base64
import secrets
import time

from django.utils.crypto import constant_time_compare

from common.encryption import SecretDecryptionError, current_cipher

TTL_SECONDS = 600


def _key(scope: str) -> str:
    return f"tested_secrets:{scope}"


def stash(request, *, scope: str, values: dict[str, str]) -> str:
    """Keeps `values` (secrets and what they belong with) for this user; returns the reference."""
    ref = secrets.token_urlsafe(16)
    sealed = current_cipher().encrypt("\x1f".join(f"{k}\x1e{v}" for k, v in values.items()))
    request.session[_key(scope)] = {
        "ref": ref,
        "sealed": base64.b64encode(sealed).decode(),
        "at": time.time(),
    }
    return ref


def take(request, *, scope: str, ref: str) -> dict[str, str] | None:
    """The values stashed under `ref`, once; None when missing, expired or not this reference."""
    entry = request.session.pop(_key(scope), None)
    if not entry or not ref or not constant_time_compare(entry.get("ref", ""), ref):
        return None
    if time.time() - entry.get("at", 0) > TTL_SECONDS:
        return None
    try:
        plain = current_cipher().decrypt(base64.b64decode(entry["sealed"]))
    except (SecretDecryptionError, ValueError, KeyError):
        return None
    return dict(item.split("\x1e", 1) for item in plain.split("\x1f") if item)
