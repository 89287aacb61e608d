"""No 500 on any input, and no stored poison: lone surrogates, NUL bytes, control characters
and line breaks, oversized bodies, and provider answers carrying the same."""

import pytest
from django.core import mail
from django.test import Client

from devtools.fakes.providers import VALID_KEYS
from organizations.models import Organization

pytestmark = pytest.mark.django_db

SURROGATE_JSON = '"\\ud800"'  # a lone surrogate, as JSON writes it


def raw_post(client, path, body: str):
    return client.post(path, body.encode(), content_type="application/json")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/settings/ai-config/test", '{"provider": ' + SURROGATE_JSON + ', "api_key": "k"}'),
        ("/api/messages/generate", '{"prompt": "Hi", "tone": ' + SURROGATE_JSON + "}"),
        ("/api/organization/invitations", '{"email": "a@b.org", "role": ' + SURROGATE_JSON + "}"),
        ("/api/organization/invitations", '{"email": ' + SURROGATE_JSON + ', "role": "member"}'),
        ("/api/settings/ai-config/test", '{"provider": "openai", "api_key": "k\\u0000x"}'),
        ("/api/settings/ai-config/test", '{"provider": "openai\\u0000", "api_key": "k"}'),
        ("/api/messages/generate", '{"prompt": "Hi \\u0000 there"}'),
    ],
)
def test_it_answers_400_to_lone_surrogates_and_nul_in_json(team, api, path, body):
    response = raw_post(api(team.owner), path, body)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error_code"] in ("invalid_input", "parse_error")


def test_it_echoes_at_most_a_short_prefix_of_the_input(team, api):
    response = api(team.owner).post(
        "/api/settings/ai-config/test", {"provider": "x" * 100_000, "api_key": "k"}, format="json"
    )
    assert response.status_code == 400
    assert len(response.content) < 2_000


@pytest.mark.parametrize("name", ["Grace\nChurch", "Grace\rChurch", "Grace\x1bChurch", "A\u2028B"])
def test_it_refuses_line_breaks_and_control_characters_in_an_organization_name(api, name):
    response = api().post(
        "/api/auth/register",
        {"email": "new@grace.test", "password": "Sturdy-Passw0rd-x", "organization_name": name},
        format="json",
    )
    assert response.status_code == 400
    assert "organization_name" in response.json()["fields"]
    assert not Organization.objects.filter(name=name).exists()


def test_it_refuses_a_line_break_in_an_organization_name_on_the_page(team):
    client = Client()
    client.force_login(team.owner)
    response = client.post("/organization/new/", {"name": "Grace\nChurch"})
    assert response.status_code == 400
    assert not Organization.objects.filter(name="Grace\nChurch").exists()


def test_it_sends_invitations_for_an_organization_whose_stored_name_has_a_line_break(
    team, api, django_capture_on_commit_callbacks
):
    """Names stored before the check existed still send (the subject is one line)."""
    Organization.objects.filter(pk=team.org.pk).update(name="Grace\nChurch")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(team.owner).post(
            "/api/organization/invitations",
            {"email": "new@grace.test", "role": "member"},
            format="json",
        )
    assert response.status_code == 201
    assert "\n" not in mail.outbox[-1].subject


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/whatsapp/%00/",
        "/api/organization/members/%00",
        "/invitations/%00/",
        "/settings/%00/",
        "/api/settings/ai-config?x=%00",
        "/accounts/login/?next=%00",
    ],
)
def test_it_never_fails_on_a_nul_byte_in_the_url(team, api, path):
    """In the path it names nothing (404); in the query string it is a bad request (400)."""
    response = api(team.owner).get(path)
    expected = 400 if "?" in path else 404
    assert response.status_code == expected, (path, response.status_code)


def test_it_answers_json_to_a_bad_request_under_the_api(team, api):
    response = api(team.owner).get("/api/me", HTTP_HOST="bad host name")
    assert response.status_code == 400
    assert response.json()["error_code"] == "bad_request"


def test_it_answers_json_413_to_an_oversized_body_under_the_api(team, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"prompt": "' + "x" * 20_000 + '"}'
    response = raw_post(api(team.owner), "/api/messages/generate", body)
    assert response.status_code == 413
    assert response.json()["error_code"] == "request_too_large"


# --- provider answers ----------------------------------------------------------------------------


def test_it_cleans_model_ids_before_storing_them(team, api, fake_providers):
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    fake_providers.extra_models = ["gpt-\ud800-bad", "nul\x00model", "fine-model", "x" * 5000]
    saved = api(team.owner).put("/api/settings/ai-config", payload, format="json")
    assert saved.status_code == 200, saved.content[:300]
    models = saved.json()["models"]
    assert "fine-model" in models
    assert all(m.isprintable() and len(m) <= 200 for m in models)
    assert api(team.member).get("/api/settings/ai-config").status_code == 200
    page = Client()
    page.force_login(team.owner)
    assert page.get("/settings/").status_code == 200


def test_it_cleans_reply_text_before_showing_it(team, api, fake_providers):
    api(team.owner).put(
        "/api/settings/ai-config",
        {"provider": "openai", "api_key": VALID_KEYS["openai"]},
        format="json",
    )
    fake_providers.reply_text = "Bless\ud800ed \x00day\x07!"
    response = api(team.member).post("/api/messages/generate", {"prompt": "Hi"}, format="json")
    assert response.status_code == 200, response.content[:300]
    text = response.json()["text"]
    assert "\x00" not in text and "\x07" not in text and "\ud800" not in text
    assert "day" in text
