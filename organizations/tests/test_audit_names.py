"""Audit action names are constants in organizations/audit.py: every one the services record
has words for the Activity page and the admin, and none is written out anywhere else."""

import pathlib
import re

import pytest
from django.conf import settings
from django.test import Client

from organizations import audit
from organizations.models import AuditEvent, User

pytestmark = pytest.mark.django_db

ACTIONS = [
    value for name, value in vars(audit).items() if name.isupper() and isinstance(value, str)
]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_gives_every_action_words():
    assert set(ACTIONS) == set(audit.ACTION_LABELS)
    assert len(set(audit.ACTION_LABELS.values())) == len(audit.ACTION_LABELS)


def test_it_writes_action_names_only_in_the_audit_module():
    names = "|".join(re.escape(action) for action in ACTIONS)
    pattern = re.compile(rf"[\"']({names})[\"']")
    offenders = []
    for path in pathlib.Path(settings.BASE_DIR).glob("*/**/*.py"):
        parts = path.relative_to(settings.BASE_DIR).parts
        if "tests" in parts or "migrations" in parts or parts[0] in {"e2e", "bench"}:
            continue
        if path.name == "audit.py" and parts[0] == "organizations":
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path))
    assert offenders == []


def test_it_tells_each_action_as_a_sentence_on_the_activity_page(team):
    AuditEvent.objects.create(organization=team.org, actor=team.owner, action=audit.MEMBERSHIP_LEFT)
    AuditEvent.objects.create(
        organization=team.other_org,
        actor=team.outsider,
        action=audit.AI_CONFIG_DELETED,
        target="openai",
        metadata={"provider": "openai", "api_key": "***X7Y9"},
    )

    owner_page = client_for(team.owner).get("/organization/activity/").content.decode()
    member_page = client_for(team.member).get("/organization/activity/")
    outsider_page = client_for(team.outsider).get("/organization/activity/").content.decode()

    assert "owner@grace.test left the organization." in owner_page
    assert "disconnected" not in owner_page
    assert member_page.status_code == 403
    assert "left the organization" not in outsider_page
    assert "outsider@hope.test disconnected OpenAI (ChatGPT)" in outsider_page


def test_it_filters_the_admin_by_action_in_words(team):
    root = User.objects.create_superuser(email="root@example.org", password="x")
    AuditEvent.objects.create(
        organization=team.org, action=audit.INVITATION_CREATED, target="john@example.org"
    )
    AuditEvent.objects.create(organization=team.org, action=audit.ORGANIZATION_CREATED)

    admin = client_for(root)
    everything = admin.get("/admin/organizations/auditevent/").content.decode()
    invitations = admin.get(
        "/admin/organizations/auditevent/", {"action": audit.INVITATION_CREATED}
    ).content.decode()

    assert audit.ACTION_LABELS[audit.INVITATION_CREATED] in everything  # offered as a filter
    assert "created the organization" in everything
    assert "invited john@example.org" in invitations
    assert "created the organization" not in invitations
