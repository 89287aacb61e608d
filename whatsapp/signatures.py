"""Meta webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`.

The HMAC is computed over the raw request bytes exactly as received (never over re-serialized
JSON) and compared in constant time.
"""

import hashlib
import hmac
import re

_PREFIX = "sha256="
# A SHA-256 digest is 32 bytes = 64 hex digits; anything else cannot be a valid signature.
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def sign(*, app_secret: str, body: bytes) -> str:
    """Return the `X-Hub-Signature-256` header value Meta would send for `body`."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signature_is_valid(*, app_secret: str, body: bytes, header: str | None) -> bool:
    """True only if `header` is Meta's signature of `body` under `app_secret`."""
    # An empty secret would make the signature forgeable by anyone, so it never validates.
    if not app_secret or not header or not header.startswith(_PREFIX):
        return False
    given_hex = header[len(_PREFIX) :]
    if not _HEX_DIGEST.fullmatch(given_hex):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(given_hex))
