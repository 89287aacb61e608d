import logging

import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

URL = "/healthz"
# What a driver says when the database is down: host, user and more. None of it may leak.
DRIVER_ERROR = (
    'connection to server at "db.internal.example" (10.0.0.5), port 5432 failed: FATAL: '
    'password authentication failed for user "church_prod" password=hunter2-Secret'
)
CLOSED_REDIS = "redis://127.0.0.1:1/0"
DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CLOSED_REDIS,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError(DRIVER_ERROR)

    monkeypatch.setattr(connection, "cursor", refuse)


def test_it_answers_ok_without_authentication_when_database_and_cache_answer():
    response = Client().get(URL)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_head_requests():
    assert Client().head(URL).status_code == 200


def test_it_answers_503_naming_the_database_when_the_database_is_down(database_down):
    response = Client().get(URL)
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable", "cache": "ok"}


def test_it_answers_503_naming_the_cache_when_the_cache_is_down():
    with override_settings(CACHES=DEAD_CACHE):
        response = Client().get(URL)
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "cache": "unreachable"}


def test_it_names_both_when_both_are_down(database_down):
    with override_settings(CACHES=DEAD_CACHE):
        response = Client().get(URL)
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unreachable",
        "cache": "unreachable",
    }


def test_it_reveals_no_driver_error_in_the_answer_or_the_logs(database_down, caplog):
    caplog.set_level(logging.DEBUG)
    with override_settings(CACHES=DEAD_CACHE):
        response = Client().get(URL)
    body = response.content.decode()
    for secret in ("hunter2", "church_prod", "db.internal", "10.0.0.5", "127.0.0.1:1"):
        assert secret not in body
        assert secret not in caplog.text
    # The logs say which check failed and the kind of error, for the operator.
    assert "database is unreachable (OperationalError)" in caplog.text
    assert "cache is unreachable (ConnectionError)" in caplog.text


@override_settings(SECURE_SSL_REDIRECT=True)
def test_it_is_not_redirected_to_https_unlike_the_rest_of_the_site():
    client = Client()
    assert client.get("/accounts/login/").status_code == 301
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_sets_no_cookie_and_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.get(URL)
    assert not response.cookies
    # Only GET and HEAD: a POST is refused as a method, not as a CSRF failure.
    assert client.post(URL).status_code == 405
