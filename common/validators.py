"""Input checks shared by the API serializers and the page forms."""

import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def validate_secret_text(value: str, *, max_length: int, label: str = "The key") -> None:
    """A key or token: no whitespace or control characters, not too long.

    Messages never repeat the value."""
    if len(value) > max_length:
        raise ValidationError(f"{label} is too long (at most {max_length} characters).")
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValidationError(
            f"{label} contains spaces, line breaks or control characters. Copy it again."
        )
    if not value.isascii():
        raise ValidationError(f"{label} contains characters that keys never have. Copy it again.")


def validate_graph_id(value: str) -> None:
    """A Meta Graph id (phone number id, business account id): digits only, at most 20."""
    if not (value.isascii() and value.isdigit() and 1 <= len(value) <= 20):
        raise ValidationError("Enter the ID as digits only (at most 20), as shown by Meta.")


def validate_model_name(value: str) -> None:
    if len(value) > 200:
        raise ValidationError("The model name is too long (at most 200 characters).")
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValidationError("The model name cannot contain spaces or control characters.")


def validate_base_url(value: str) -> None:
    """An http(s) URL with a host and no credentials. Addresses are checked when it is used."""
    if len(value) > 500:
        raise ValidationError("The base URL is too long (at most 500 characters).")
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValidationError("The base URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise ValidationError("Enter a valid URL, like https://llm.example.org/v1.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("The base URL must start with http:// or https://.")
    if not parts.hostname:
        raise ValidationError("Enter a valid URL, like https://llm.example.org/v1.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("Put no user name or password in the base URL.")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        # Shown to every member and in the audit trail: a key must not ride along in it.
        raise ValidationError("Put no query string (?…) or fragment (#…) in the base URL.")
    del port
