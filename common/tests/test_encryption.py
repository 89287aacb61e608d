import pytest

from common.encryption import (
    UNREADABLE,
    SecretCipher,
    SecretDecryptionError,
    cipher_for,
    mask_secret,
)

SECRET = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789X7Y9"


def test_it_round_trips_a_secret():
    cipher = cipher_for("key-one")
    token = cipher.encrypt(SECRET)
    assert SECRET.encode() not in token
    assert cipher.decrypt(token) == SECRET


def test_it_refuses_to_decrypt_with_another_key_without_leaking_the_token():
    token = cipher_for("key-one").encrypt(SECRET)
    with pytest.raises(SecretDecryptionError) as info:
        cipher_for("key-two").decrypt(token)
    assert token.decode(errors="ignore")[:20] not in str(info.value)


def test_it_does_not_depend_on_secret_key(settings):
    token = cipher_for("key-one").encrypt(SECRET)
    settings.SECRET_KEY = "a-completely-different-secret-key-value"
    assert SecretCipher("key-one").decrypt(token) == SECRET


def test_it_refuses_tampered_ciphertext():
    token = bytearray(cipher_for("key-one").encrypt(SECRET))
    token[-1] ^= 1
    with pytest.raises(SecretDecryptionError):
        cipher_for("key-one").decrypt(bytes(token))


def test_it_masks_with_the_last_four_characters():
    assert mask_secret(SECRET) == "***X7Y9"
    assert mask_secret("") is None
    assert mask_secret(UNREADABLE) is None
    assert not UNREADABLE and str(UNREADABLE) == ""


@pytest.mark.parametrize(
    "secret, shown",
    [
        ("abcd", "***"),
        ("a", "***"),
        ("0123456789abcde", "***"),  # 15: its last 4 would be a quarter of it
        ("0123456789abcdef", "***cdef"),
        ("sk-proj-REALLOOKINGopenai1234567890abcdWXYZ", "***WXYZ"),
    ],
)
def test_it_shows_the_last_4_characters_only_of_long_secrets(secret, shown):
    from common.encryption import mask_secret

    assert mask_secret(secret) == shown
