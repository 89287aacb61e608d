import logging

import pytest
from django.test import Client

from aiconfig.models import AIConfig
from devtools.fakes.providers import VALID_KEYS
from organizations.models import AuditEvent

pytestmark = pytest.mark.django_db

KEY = VALID_KEYS["gemini"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(user, action, **fields):
    data = {"provider": "gemini", "api_key": KEY, "model": "", "base_url": "", "action": action}
    data.update(fields)
    return client_for(user).post("/settings/ai/", data)


def test_it_tests_a_key_from_the_page_and_saves_nothing(team, fake_providers):
    response = submit(team.owner, "test")
    assert response.status_code == 200
    html = response.content.decode()
    assert "API key is valid" in html and 'class="icon icon-ok"' in html
    assert "“OK”" in html
    assert '<option value="gemini-2.5-flash">' in html  # the tested model list is offered
    assert KEY not in html
    assert not AIConfig.objects.exists()


def test_it_shows_the_classified_failure_on_the_page(team, fake_providers):
    fake_providers.set_scenario("gemini", "no_credit")
    html = submit(team.owner, "test").content.decode()
    assert 'class="icon icon-fail"' in html
    assert KEY not in html


def test_it_saves_from_the_page_and_then_shows_only_the_mask(team, fake_providers):
    response = submit(team.admin, "save")
    assert response.status_code == 302
    page = client_for(team.owner).get("/settings/").content.decode()
    assert "***" + KEY[-4:] in page
    assert 'placeholder="***' + KEY[-4:] + '"' in page
    assert KEY not in page
    assert "passed" in page
    assert AIConfig.objects.get().updated_by == team.admin


def test_it_refuses_to_save_an_invalid_key_from_the_page(team, fake_providers):
    response = submit(team.owner, "save", api_key="AIzaWRONGWRONGWRONGWRONGWRONGWRONGWRONG1")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "AIzaWRONG" not in html
    assert not AIConfig.objects.exists()


def test_it_keeps_the_stored_key_when_the_field_is_left_empty(team, fake_providers):
    submit(team.owner, "save")
    response = submit(team.owner, "save", api_key="", model="gemini-3.8-flash")
    assert response.status_code == 302
    config = AIConfig.objects.get()
    assert config.model == "gemini-3.8-flash" and config.api_key == KEY


def test_it_shows_field_errors_beside_the_fields(team, fake_providers):
    response = submit(team.owner, "save", provider="custom", api_key="has space")
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="field has-error"') == 2
    assert "base URL" in html
    assert not fake_providers.requests


def test_it_ignores_a_base_url_for_providers_other_than_custom(team, fake_providers):
    assert submit(team.owner, "save", base_url="https://ignored.example/v1").status_code == 302
    assert AIConfig.objects.get().base_url == ""


def test_it_shows_settings_read_only_to_members(team, fake_providers):
    submit(team.owner, "save")
    html = client_for(team.member).get("/settings/").content.decode()
    assert "***" + KEY[-4:] in html
    assert "Test API key" not in html and 'name="api_key"' not in html
    response = submit(team.member, "save", api_key=VALID_KEYS["gemini"])
    assert response.status_code == 403


def test_it_does_not_show_another_organizations_settings(team, fake_providers):
    submit(team.owner, "save")
    html = client_for(team.outsider).get("/settings/").content.decode()
    assert "***" + KEY[-4:] not in html
    assert "No AI provider is connected yet" in html


def test_it_removes_after_a_confirmation_page(team, fake_providers):
    submit(team.owner, "save")
    client = client_for(team.owner)
    confirm = client.get("/settings/ai/remove/")
    assert b"Remove the AI configuration?" in confirm.content
    assert AIConfig.objects.exists()
    assert client.post("/settings/ai/remove/").status_code == 302
    assert not AIConfig.objects.exists()
    assert AuditEvent.objects.filter(action="ai_config.deleted", actor=team.owner).exists()


def test_it_does_not_let_a_member_remove(team, fake_providers):
    submit(team.owner, "save")
    assert client_for(team.member).post("/settings/ai/remove/").status_code == 403
    assert AIConfig.objects.exists()


def test_it_never_logs_the_key(team, fake_providers, caplog):
    caplog.set_level(logging.DEBUG)
    submit(team.owner, "test")
    submit(team.owner, "save")
    submit(team.owner, "save", api_key="AIzaBADBADBADBADBADBADBADBADBADBADBADB1")
    fake_providers.set_scenario("gemini", "hang")
    submit(team.owner, "test")
    assert KEY not in caplog.text
    assert "AIzaBADBAD" not in caplog.text


def ref_in(html: str) -> str:
    import re

    return re.search(r'name="tested_ref" value="([^"]+)"', html).group(1)


def test_it_saves_the_key_that_was_just_tested_without_pasting_it_again(team, fake_providers):
    client = client_for(team.owner)
    base = {"provider": "gemini", "model": "", "base_url": ""}
    tested = client.post("/settings/ai/", {**base, "api_key": KEY, "action": "test"})
    html = tested.content.decode()
    assert KEY not in html
    assert f"Tested key ***{KEY[-4:]}" in html
    saved = client.post(
        "/settings/ai/", {**base, "api_key": "", "tested_ref": ref_in(html), "action": "save"}
    )
    assert saved.status_code == 302
    assert AIConfig.objects.get().api_key == KEY


def test_it_replaces_the_stored_key_with_the_tested_one(team, fake_providers):
    submit(team.owner, "save")  # gemini stored
    client = client_for(team.owner)
    base = {"provider": "groq", "model": "", "base_url": ""}
    html = client.post(
        "/settings/ai/", {**base, "api_key": VALID_KEYS["groq"], "action": "test"}
    ).content.decode()
    client.post(
        "/settings/ai/", {**base, "api_key": "", "tested_ref": ref_in(html), "action": "save"}
    )
    config = AIConfig.objects.get()
    assert config.provider == "groq" and config.api_key == VALID_KEYS["groq"]


@pytest.mark.parametrize("change", [{"tested_ref": "forged"}, {"provider": "openai"}])
def test_it_refuses_a_forged_or_mismatched_tested_key_reference(team, fake_providers, change):
    submit(team.owner, "save")  # a stored gemini key that must not be silently re-saved
    client = client_for(team.owner)
    base = {"provider": "gemini", "model": "gemini-3.8-flash", "base_url": ""}
    html = client.post("/settings/ai/", {**base, "api_key": KEY, "action": "test"}).content.decode()
    data = {**base, "api_key": "", "tested_ref": ref_in(html), "action": "save", **change}
    response = client.post("/settings/ai/", data)
    assert response.status_code == 400
    assert "paste it again" in response.content.decode()
    assert AIConfig.objects.get().model == "gemini-2.5-flash"


def test_it_does_not_carry_a_tested_key_to_another_user(team, fake_providers):
    html = (
        client_for(team.owner)
        .post(
            "/settings/ai/",
            {"provider": "gemini", "api_key": KEY, "model": "", "base_url": "", "action": "test"},
        )
        .content.decode()
    )
    response = client_for(team.admin).post(
        "/settings/ai/",
        {
            "provider": "gemini",
            "api_key": "",
            "model": "",
            "base_url": "",
            "tested_ref": ref_in(html),
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert not AIConfig.objects.exists()


def test_it_keeps_the_tested_key_encrypted_in_the_session(team, fake_providers):
    from django.contrib.sessions.models import Session

    client_for(team.owner).post(
        "/settings/ai/",
        {"provider": "gemini", "api_key": KEY, "model": "", "base_url": "", "action": "test"},
    )
    for session in Session.objects.all():
        assert KEY not in str(session.get_decoded())
