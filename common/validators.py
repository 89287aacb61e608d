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


# --- text from people and from providers -------------------------------------------------------

# Line and paragraph separators break a line as surely as \n (mail headers, logs, CSV).
_LINE_SEPARATORS = {"\u2028", "\u2029", "\u0085"}


def has_lone_surrogate(value: str) -> bool:
    """A string no UTF-8 can encode (JSON's "\\ud800"): it cannot be stored or answered."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate_single_line(value: str, *, label: str = "The name") -> None:
    """A name shown in one line (page titles, e-mail subjects, the audit trail): no line
    breaks, no control characters, no unpaired surrogates. Messages never repeat the value."""
    if has_lone_surrogate(value) or any(
        ch in _LINE_SEPARATORS or unicodedata.category(ch) == "Cc" for ch in value
    ):
        raise ValidationError(f"{label} cannot contain line breaks or control characters.")


def one_line(value: str) -> str:
    """`value` with every run of whitespace and control characters made one space (for a
    mail subject or a log line built from stored text)."""
    cleaned = "".join(
        " " if (ch in _LINE_SEPARATORS or unicodedata.category(ch) == "Cc") else ch for ch in value
    )
    return " ".join(cleaned.split())


def clean_provider_text(value, *, limit: int, multiline: bool = True) -> str:
    """Text a provider or Meta sent, made safe to store and render: unpaired surrogates and
    control characters removed (line breaks and tabs kept when `multiline`), cut to `limit`."""
    if not isinstance(value, str):
        return ""
    value = value.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    kept = "\n\t" if multiline else ""
    value = "".join(
        ch for ch in value if ch in kept or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    return value[:limit]


def clean_model_ids(values, *, limit: int = 200) -> list[str]:
    """Model ids from a provider's listing: only those a user could type (validate_model_name),
    so what is stored and shown can always be chosen and saved again."""
    kept = []
    for value in values:
        if not isinstance(value, str) or has_lone_surrogate(value):
            continue
        try:
            validate_model_name(value)
        except ValidationError:
            continue
        if value and len(value) <= limit:
            kept.append(value)
    return kept
