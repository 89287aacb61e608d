"""Redis down: actions that count in the cache through allauth's own rate limits (not ours)
answer 503 `temporarily_unavailable` with Retry-After, never a 500; reads keep working."""

import pytest
from django.test import Client, override_settings

from conftest import PASSWORD, api_client, make_user

pytestmark = pytest.mark.django_db

REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def assert_retry_later(response):
    assert response.status_code == 503, response.content[:300]
    assert int(response["Retry-After"]) > 0


def test_it_answers_503_to_a_verification_resend_when_the_cache_is_down():
    user = make_user("new@grace.test", verified=False)
    client = api_client(user)
    with override_settings(CACHES=REDIS_DOWN):
        # allauth's `confirm_email` limit counts in the cache.
        response = client.post("/api/auth/email/verify/resend", {}, format="json")
        assert_retry_later(response)
        assert response.json() == {
            "error": "This action is briefly unavailable. Please try again in a minute.",
            "error_code": "temporarily_unavailable",
        }
        assert client.get("/api/me").status_code == 200


def test_it_answers_503_to_a_password_change_page_when_the_cache_is_down():
    user = make_user("owner@grace.test")
    client = Client()
    client.force_login(user)
    data = {
        "oldpassword": PASSWORD,
        "password1": "Another-Sturdy-Passw0rd",
        "password2": "Another-Sturdy-Passw0rd",
    }
    with override_settings(CACHES=REDIS_DOWN):
        # allauth's `change_password` limit counts in the cache.
        response = client.post("/accounts/password/change/", data)
        assert_retry_later(response)
        assert "try again" in response.content.decode()
        assert client.get("/accounts/password/change/").status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # nothing changed
