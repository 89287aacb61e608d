import hashlib
import hmac

from whatsapp.signatures import sign, signature_is_valid

APP_SECRET = "6f1c2e9a4b7d8e0f3a5c1b2d4e6f8a0b"
BODY = b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[]}]}'


def test_it_signs_like_meta():
    expected = hmac.new(APP_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(app_secret=APP_SECRET, body=BODY) == "sha256=" + expected


def test_it_accepts_a_valid_signature():
    header = sign(app_secret=APP_SECRET, body=BODY)
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header=header) is True


def test_it_accepts_uppercase_hex():
    header = "sha256=" + sign(app_secret=APP_SECRET, body=BODY).removeprefix("sha256=").upper()
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header=header) is True


def test_it_rejects_a_signature_made_with_another_secret():
    header = sign(app_secret="another-app-secret", body=BODY)
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header=header) is False


def test_it_rejects_a_missing_or_empty_header():
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header=None) is False
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header="") is False


def test_it_rejects_a_wrong_prefix():
    digest = sign(app_secret=APP_SECRET, body=BODY).removeprefix("sha256=")
    for header in ("sha1=" + digest, digest, "SHA256=" + digest, " sha256=" + digest):
        assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header=header) is False


def test_it_rejects_non_hex_or_wrong_length_digests():
    digest = sign(app_secret=APP_SECRET, body=BODY).removeprefix("sha256=")
    for bad in ("z" * 64, digest[:-2], digest + "00", digest[:32] + " " + digest[33:], ""):
        assert signature_is_valid(app_secret=APP_SECRET, body=BODY, header="sha256=" + bad) is False


def test_it_rejects_everything_when_the_app_secret_is_empty():
    header = sign(app_secret="", body=BODY)  # what a forger would compute
    assert signature_is_valid(app_secret="", body=BODY, header=header) is False


def test_it_rejects_a_body_changed_by_one_byte():
    header = sign(app_secret=APP_SECRET, body=BODY)
    changed = bytearray(BODY)
    changed[10] ^= 0x01
    assert signature_is_valid(app_secret=APP_SECRET, body=bytes(changed), header=header) is False
    assert signature_is_valid(app_secret=APP_SECRET, body=BODY + b" ", header=header) is False
