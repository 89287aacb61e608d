"""Settings for the test suite: the production settings with test-only secrets and
plain HTTP, so the suite also proves that production settings work."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("CRYPTOGRAPHY_KEY", "test-only-cryptography-key-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault(
    "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
)
os.environ.setdefault("EMAIL_URL", "consolemail://")
# Local memory unless CI points CACHE_URL at Redis; the database cache that production uses
# without CACHE_URL has its own tests (common/tests/test_throttles.py).
os.environ.setdefault("CACHE_URL", "locmemcache://")
# Tasks run inline unless a test starts a real consumer (see common/tests for the harness).
os.environ.setdefault("HUEY_IMMEDIATE", "true")

from config.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Hashing cost is not what the tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Broadcasts send from the test's own thread (its database transaction is not visible to
# others); the consumer tests turn threads on.
BROADCAST_SEND_THREADS = 1
