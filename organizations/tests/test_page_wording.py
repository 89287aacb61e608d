"""Pages speak in words: the Activity page in sentences with labelled times, roles and
providers by their names, plurals right, one organization needs no switcher, a favicon."""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from aiconfig.models import AIConfig
from aiconfig.services import ai_config_remove
from devtools.fakes.providers import VALID_KEYS
from organizations import services
from organizations.models import AuditEvent, Membership, Role

pytestmark = pytest.mark.django_db


def page(user, path):
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def activity_of(team) -> str:
    return page(team.owner, "/organization/activity/")


def test_it_tells_membership_changes_as_sentences(team):
    owner = team.membership(team.owner)
    services.invitation_create(actor=owner, email="john@example.org", role=Role.ADMIN)
    services.membership_change_role(
        actor=owner, membership=team.membership(team.member), role=Role.ADMIN
    )
    services.membership_remove(actor=owner, membership=team.membership(team.admin))
    html = activity_of(team)
    assert "owner@grace.test invited john@example.org as Admin." in html
    assert "owner@grace.test changed the role of member@grace.test from Member to Admin." in html
    assert "owner@grace.test removed admin@grace.test (Admin)." in html
    assert "membership.role_changed" not in html and "invitation.created" not in html


def test_it_names_providers_and_masks_keys_in_sentences(team):
    config = AIConfig.objects.create(
        organization=team.org, provider="openai", api_key=VALID_KEYS["openai"], model="gpt-5.4"
    )
    AuditEvent.objects.create(
        organization=team.org,
        actor=team.admin,
        action="ai_config.created",
        target="openai",
        metadata={"provider": "openai", "model": "gpt-5.4", "api_key": config.api_key_masked},
    )
    ai_config_remove(organization=team.org, actor=team.owner)
    html = activity_of(team)
    assert "admin@grace.test connected OpenAI (ChatGPT) (model gpt-5.4) with the key ***WXYZ." in (
        html
    )
    assert "owner@grace.test disconnected OpenAI (ChatGPT) and removed the key ***WXYZ." in html
    assert VALID_KEYS["openai"] not in html


def test_it_says_when_staff_changed_something_from_the_admin(team, django_user_model):
    staff = django_user_model.objects.create_superuser(email="root@example.org", password="x")
    services.membership_change_role_by_staff(
        staff=staff, membership=team.membership(team.member), role=Role.ADMIN
    )
    html = activity_of(team)
    assert (
        "root@example.org changed the role of member@grace.test from Member to Admin "
        "(from the admin)." in html
    )


def test_it_still_reads_an_action_nobody_described(team):
    AuditEvent.objects.create(
        organization=team.org, actor=team.owner, action="broadcast.sent", target="Easter"
    )
    assert "owner@grace.test: broadcast sent (Easter)." in activity_of(team)


def test_it_labels_times_utc_for_the_browser_to_localise(team):
    event = AuditEvent.objects.create(organization=team.org, action="organization.created")
    AuditEvent.objects.filter(pk=event.pk).update(
        created_at=datetime(2026, 3, 5, 18, 7, tzinfo=UTC)
    )
    html = activity_of(team)
    assert '<time datetime="2026-03-05T18:07:00Z" data-local>5 Mar 2026, 18:07 UTC</time>' in html
    assert "Someone created the organization." in html


def test_it_keeps_the_activity_from_members_and_outsiders(team):
    services.invitation_create(
        actor=team.membership(team.owner), email="john@example.org", role=Role.ADMIN
    )
    for user in (team.member, team.outsider):
        client = Client()
        client.force_login(user)
        response = client.get("/organization/activity/")
        assert "john@example.org" not in response.content.decode()
    assert Client().get("/organization/activity/").status_code == 302


def test_it_shows_the_switcher_only_with_more_than_one_organization(team):
    html = page(team.member, "/")
    assert 'id="org-switch"' not in html
    assert '<span class="org-name">Grace Church</span>' in html
    Membership.objects.create(user=team.member, organization=team.other_org, role=Role.ADMIN)
    html = page(team.member, "/")
    assert 'id="org-switch"' in html
    assert ">Hope Chapel (Admin)</option>" in html


def test_it_gets_plurals_right(team):
    from messaging.models import MessageKind, MessageRecord

    def usage_line():
        html = page(team.member, "/messages/")
        return re.search(r"This month: [^<]*", html).group(0)

    assert usage_line() == "This month: 0 drafts, 0 sent, 0 failed, 0 AI tokens."
    MessageRecord.objects.create(
        organization=team.org,
        kind=MessageKind.DRAFT,
        ok=True,
        provider="groq",
        input_tokens=1,
        output_tokens=0,
    )
    assert usage_line() == "This month: 1 draft, 0 sent, 0 failed, 1 AI token."


def test_it_has_a_favicon(team):
    html = page(team.member, "/")
    assert re.search(r'<link rel="icon" href="/static/favicon[.\w]*svg" type="image/svg', html)
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith(".svg")
