import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import api_client

pytestmark = pytest.mark.django_db

URL = "/api/ping"


def test_it_refuses_an_anonymous_caller(team):
    response = api_client().get(URL)
    assert response.status_code == 401
    assert response.json()["error_code"] == "not_authenticated"


def test_it_answers_ok_to_any_authenticated_user(team):
    for user in (team.member, team.outsider):
        response = api_client(user).get(URL)
        assert response.status_code == 200
        assert response.json() == {"ok": True}


def test_it_does_no_database_work_beyond_authentication(team):
    client = api_client(team.member)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert len(queries) == 1  # the token's user
