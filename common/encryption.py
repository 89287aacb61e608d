"""Encryption at rest for provider keys and tokens, built on django-cryptography-5.

django-cryptography's own field signs its ciphertext with SECRET_KEY, so rotating
SECRET_KEY would make every stored secret unreadable. Here both the AES key and the
signing key are derived from CRYPTOGRAPHY_KEY alone, which also lets the rotation
command hold an old and a new cipher side by side.
"""

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.db import models
from django_cryptography.core.signing import BadSignature, FernetSigner
from django_cryptography.utils.crypto import FernetBytes, InvalidToken


class UnreadableSecret:
    """Stands for a stored value that does not decrypt with the current key.

    It is never a string, so it cannot be sent to a provider by mistake."""

    def __repr__(self):
        return "<unreadable secret>"

    def __str__(self):
        return ""

    def __bool__(self):
        return False


UNREADABLE = UnreadableSecret()


class SecretDecryptionError(Exception):
    """A stored value that does not decrypt with the given key."""


def _derive(key: str, purpose: bytes) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"church-messaging:" + purpose,
        iterations=100_000,
    )
    return kdf.derive(key.encode())


class SecretCipher:
    """Encrypts and decrypts text with one CRYPTOGRAPHY_KEY."""

    def __init__(self, key: str):
        if not key:
            raise ValueError("An encryption key is required.")
        signer = FernetSigner(key=_derive(key, b"signing"))
        self._fernet = FernetBytes(key=_derive(key, b"encryption"), signer=signer)

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except (InvalidToken, BadSignature, ValueError, TypeError):
            # No detail: the token itself must never reach a message or a log.
            raise SecretDecryptionError("Stored value does not decrypt with this key.") from None


@lru_cache(maxsize=4)
def cipher_for(key: str) -> SecretCipher:
    return SecretCipher(key)


def current_cipher() -> SecretCipher:
    return cipher_for(settings.SECRETS_ENCRYPTION_KEY)


class EncryptedSecretField(models.BinaryField):
    """A text secret stored encrypted. Reads give the text, "" for empty, or
    UNREADABLE when the stored bytes do not decrypt with CRYPTOGRAPHY_KEY.

    With `mask_field`, what the mask shows (mask_secret) is kept in that column beside the
    ciphertext, set on every save and by the key rotation: reads that only show the mask
    need no decryption."""

    def __init__(self, *args, mask_field: str | None = None, **kwargs):
        self.mask_field = mask_field
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", b"")
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, value in (("editable", False), ("default", b""), ("blank", True)):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if self.mask_field and isinstance(value, str):
            setattr(model_instance, self.mask_field, mask_secret(value) or "")
        return value

    def from_db_value(self, value, expression, connection):
        if value is None or bytes(value) == b"":
            return ""
        try:
            return current_cipher().decrypt(bytes(value))
        except SecretDecryptionError:
            return UNREADABLE

    def to_python(self, value):
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if isinstance(value, UnreadableSecret):
            raise ValueError("Refusing to save an unreadable secret; enter it again.")
        if value in ("", b""):
            return connection.Database.Binary(b"")
        return connection.Database.Binary(current_cipher().encrypt(str(value)))

    def value_to_string(self, obj):
        # Serialization (dumpdata) never sees the plaintext.
        return "***"


MASK_MIN_LENGTH = 16


def mask_secret(value) -> str | None:
    """The only form in which a stored secret is ever shown: *** and its last 4 characters,
    or *** alone for a secret shorter than MASK_MIN_LENGTH (its last 4 would be most of it)."""
    if isinstance(value, UnreadableSecret):
        return None
    if not value:
        return None
    value = str(value)
    return "***" + value[-4:] if len(value) >= MASK_MIN_LENGTH else "***"


def encrypted_fields():
    """Every (model, field) pair that stores a secret, across all apps."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedSecretField):
                yield model, field


def rotate_secrets(*, old_key: str, new_key: str, dry_run: bool) -> dict:
    """Re-encrypts every stored secret from old_key to new_key.

    Works on the raw column bytes, so it needs neither key to be CRYPTOGRAPHY_KEY. The caller
    wraps it in one transaction; any value that decrypts with neither key aborts the rotation.
    Returns counts per "app_label.Model.field"."""
    from django.db import connection

    old, new = SecretCipher(old_key), SecretCipher(new_key)
    report = {}
    quote = connection.ops.quote_name
    for model, field in encrypted_fields():
        table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
        label = f"{model._meta.label}.{field.name}"
        counts = {"rotated": 0, "already_new": 0, "empty": 0}
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)}")  # noqa: S608
            rows = cursor.fetchall()
        for row_pk, raw in rows:
            raw = bytes(raw) if raw is not None else b""
            if not raw:
                counts["empty"] += 1
                continue
            try:
                plaintext = old.decrypt(raw)
            except SecretDecryptionError:
                try:
                    new.decrypt(raw)
                except SecretDecryptionError:
                    raise SecretDecryptionError(
                        f"{label} of row {row_pk} decrypts with neither the old nor the new key."
                    ) from None
                counts["already_new"] += 1
                continue
            counts["rotated"] += 1
            if dry_run:
                continue
            token = new.encrypt(plaintext)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",  # noqa: S608
                    [connection.Database.Binary(token), row_pk],
                )
                if field.mask_field:  # a row unreadable before may show its mask now
                    mask_column = model._meta.get_field(field.mask_field).column
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {quote(mask_column)} = %s "  # noqa: S608
                        f"WHERE {quote(pk)} = %s",
                        [mask_secret(plaintext) or "", row_pk],
                    )
                cursor.execute(
                    f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(pk)} = %s",  # noqa: S608
                    [row_pk],
                )
                stored = bytes(cursor.fetchone()[0])
            if new.decrypt(stored) != plaintext:
                raise SecretDecryptionError(
                    f"{label} of row {row_pk} did not verify after rotation."
                )
        report[label] = counts
    return report
