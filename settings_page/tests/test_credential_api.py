"""The settings API runs the same mechanics for every declaration: read (any member),
test and test-then-save (owners, admins), remove (owners, admins), each organization apart."""

import pytest

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from organizations.models import AuditEvent
from settings_page.sections import SECTIONS

pytestmark = pytest.mark.django_db

BODIES = {
    "ai": {"provider": "mistral", "api_key": VALID_KEYS["mistral"]},
    "ai-backup": {"provider": "groq", "api_key": VALID_KEYS["groq"]},
    "whatsapp": {
        "phone_number_id": PHONE_NUMBER_ID,
        "business_account_id": WABA_ID,
        "access_token": VALID_TOKEN,
    },
}
each_declaration = pytest.mark.parametrize("declaration", SECTIONS, ids=lambda d: d.slug)


@pytest.fixture
def fakes(fake_providers, fake_graph, team):
    # On the Pro plan every declaration is offered (the backup key is not part of Free).
    for organization in (team.org, team.other_org):
        organization.plan = "pro"
        organization.save()
    return fake_providers, fake_graph


def url(declaration, suffix=""):
    return f"/api/{declaration.api_path}{suffix}"


@each_declaration
def test_it_lets_the_owner_test_save_read_and_remove(team, fakes, declaration):
    owner = api_client(team.owner)
    body = BODIES[declaration.slug]

    tested = owner.post(url(declaration, "/test"), body, format="json")
    saved = owner.put(url(declaration), body, format="json")
    read = owner.get(url(declaration)).json()
    removed = owner.delete(url(declaration))

    assert tested.status_code == 200 and tested.json()["success"] is True
    assert saved.status_code == 200 and saved.json()["message"] == declaration.saved_message
    assert read["configured"] is True
    assert removed.status_code == 204
    assert owner.get(url(declaration)).json()["configured"] is False
    assert set(AuditEvent.objects.filter(actor=team.owner).values_list("action", flat=True)) == {
        declaration.audit_actions[0],
        declaration.audit_actions[2],
    }
    secret = body[declaration.primary_secret]
    for response in (tested, saved):
        assert secret not in response.content.decode()


@each_declaration
def test_it_lets_a_member_read_but_not_change(team, fakes, declaration):
    assert (
        api_client(team.owner)
        .put(url(declaration), BODIES[declaration.slug], format="json")
        .status_code
        == 200
    )
    member = api_client(team.member)

    assert member.get(url(declaration)).json()["configured"] is True
    assert (
        member.post(url(declaration, "/test"), BODIES[declaration.slug], format="json").status_code
        == 403
    )
    assert member.put(url(declaration), BODIES[declaration.slug], format="json").status_code == 403
    assert member.delete(url(declaration)).status_code == 403
    assert declaration.config_for(team.org) is not None


@each_declaration
def test_it_keeps_an_outsider_out_of_the_organization(team, fakes, declaration):
    assert (
        api_client(team.owner)
        .put(url(declaration), BODIES[declaration.slug], format="json")
        .status_code
        == 200
    )

    as_own = api_client(team.outsider)
    as_grace = api_client(team.outsider, team.org)

    assert as_own.get(url(declaration)).json()["configured"] is False
    assert as_own.delete(url(declaration)).status_code == 204  # their own: nothing there
    assert as_grace.get(url(declaration)).status_code == 404
    assert as_grace.delete(url(declaration)).status_code == 404
    assert declaration.config_for(team.org) is not None
