"""The one credential-settings mechanism, run for every declaration the same way: the page's
test → keep the tested secret → save → remove, its confirmation page, and the audit trail."""

import pytest
from django.test import Client
from django.utils.html import escape

from aiconfig.credentials import AI_BACKUP_KEY, AI_PROVIDER_KEY
from aiconfig.providers import (
    BASE_URL_REQUIRED,
    BASE_URL_UNUSED,
    PROVIDERS,
    base_url_problem,
    providers_taking_base_url,
)
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from organizations.models import AuditEvent
from settings_page.sections import SECTIONS
from whatsapp.credentials import WHATSAPP_NUMBER

pytestmark = pytest.mark.django_db

INPUTS = {
    AI_PROVIDER_KEY.slug: {
        "provider": "groq",
        "api_key": VALID_KEYS["groq"],
        "model": "",
        "base_url": "",
    },
    AI_BACKUP_KEY.slug: {
        "provider": "mistral",
        "api_key": VALID_KEYS["mistral"],
        "model": "",
        "base_url": "",
    },
    WHATSAPP_NUMBER.slug: {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": WABA_ID,
        "access_token": VALID_TOKEN,
        "app_secret": "",
    },
}


@pytest.fixture
def fakes(fake_providers, fake_graph, team):
    # On the Pro plan every declaration is offered (the backup key is not part of Free).
    for organization in (team.org, team.other_org):
        organization.plan = "pro"
        organization.save()
    return fake_providers, fake_graph


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(user, declaration, action, **changes):
    data = {**INPUTS[declaration.slug], "action": action, **changes}
    return client_for(user).post(f"/settings/{declaration.slug}/", data)


def stored(declaration, team):
    return declaration.config_for(team.org)


def test_it_declares_every_section_with_inputs_in_this_test():
    assert {section.slug for section in SECTIONS} == set(INPUTS)


@pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)
def test_it_saves_what_was_tested_and_audits_each_change(team, fakes, declaration):
    client = client_for(team.admin)
    tested = client.post(
        f"/settings/{declaration.slug}/", {**INPUTS[declaration.slug], "action": "test"}
    )
    html = tested.content.decode()
    assert tested.status_code == 200 and 'name="tested_ref"' in html
    assert INPUTS[declaration.slug][declaration.primary_secret] not in html
    assert stored(declaration, team) is None
    ref = html.split('name="tested_ref" value="', 1)[1].split('"', 1)[0]

    saved = client.post(
        f"/settings/{declaration.slug}/",
        {
            **INPUTS[declaration.slug],
            declaration.primary_secret: "",
            "tested_ref": ref,
            "action": "save",
        },
    )

    assert saved.status_code == 302
    config = stored(declaration, team)
    secret = INPUTS[declaration.slug][declaration.primary_secret]
    assert getattr(config, declaration.primary_secret) == secret
    created, updated, deleted = declaration.audit_actions
    assert AuditEvent.objects.filter(action=created, actor=team.admin).count() == 1
    assert post(team.owner, declaration, "save").status_code == 302
    assert AuditEvent.objects.filter(action=updated, actor=team.owner).count() == 1
    assert client_for(team.owner).post(f"/settings/{declaration.slug}/remove/").status_code == 302
    assert stored(declaration, team) is None
    assert AuditEvent.objects.filter(action=deleted, actor=team.owner).count() == 1


@pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)
def test_it_asks_the_owner_to_confirm_a_removal_on_one_page(team, fakes, declaration):
    assert post(team.owner, declaration, "save").status_code == 302

    page = client_for(team.owner).get(f"/settings/{declaration.slug}/remove/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f"Remove the {declaration.noun}?" in html
    assert escape(declaration.remove_warning(stored(declaration, team))) in html
    assert INPUTS[declaration.slug][declaration.primary_secret] not in html
    assert stored(declaration, team) is not None


@pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)
def test_it_refuses_a_member_without_rights_everywhere(team, fakes, declaration):
    assert post(team.owner, declaration, "save").status_code == 302
    member = client_for(team.member)

    assert member.get(f"/settings/{declaration.slug}/remove/").status_code == 403
    assert member.post(f"/settings/{declaration.slug}/remove/").status_code == 403
    assert post(team.member, declaration, "test").status_code == 403
    assert post(team.member, declaration, "save").status_code == 403

    assert stored(declaration, team) is not None
    assert not AuditEvent.objects.filter(actor=team.member).exists()


@pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)
def test_it_keeps_an_outsider_to_their_own_organization(team, fakes, declaration):
    assert post(team.owner, declaration, "save").status_code == 302
    outsider = client_for(team.outsider)

    # The outsider owns another organization: the confirmation page has nothing to remove there.
    assert outsider.get(f"/settings/{declaration.slug}/remove/").status_code == 302
    assert outsider.post(f"/settings/{declaration.slug}/remove/").status_code == 302
    assert stored(declaration, team) is not None
    assert declaration.config_for(team.other_org) is None
    page = outsider.get("/settings/").content.decode()
    assert declaration.empty_text in page


@pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)
def test_it_does_not_reuse_a_tested_secret_of_another_section(team, fakes, declaration):
    client = client_for(team.owner)
    other = next(section for section in SECTIONS if section is not declaration)
    html = client.post(
        f"/settings/{other.slug}/", {**INPUTS[other.slug], "action": "test"}
    ).content.decode()
    ref = html.split('name="tested_ref" value="', 1)[1].split('"', 1)[0]

    response = client.post(
        f"/settings/{declaration.slug}/",
        {
            **INPUTS[declaration.slug],
            declaration.primary_secret: "",
            "tested_ref": ref,
            "action": "save",
        },
    )

    assert response.status_code == 400
    assert "paste it again" in response.content.decode()
    assert stored(declaration, team) is None


def test_it_keeps_the_base_url_rule_in_the_registry():
    takes = providers_taking_base_url()
    assert takes == ["custom"]
    for provider in PROVIDERS:
        if provider in takes:
            assert base_url_problem(provider, None) == BASE_URL_REQUIRED
            assert base_url_problem(provider, "https://llm.example.org/v1") is None
        else:
            assert base_url_problem(provider, None) is None
            assert base_url_problem(provider, "https://llm.example.org/v1") == BASE_URL_UNUSED


def test_it_tells_the_page_script_which_providers_take_a_base_url(team):
    html = client_for(team.owner).get("/settings/").content.decode()
    assert 'data-base-url-providers="custom"' in html
