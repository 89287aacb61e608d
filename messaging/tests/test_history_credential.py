"""The history of AI drafts says which key wrote each. The Messages page's history lists sends
(a send does not record whether its text came from a draft); the drafts, with their key, are
the Plan and usage page's "Recent AI calls", which the Messages page points to."""

import re

import pytest
from django.test import Client

from devtools.fakes.providers import VALID_KEYS
from plans.tests.conftest import BACKUP_OPENAI_KEY, set_plan, store_key

pytestmark = pytest.mark.django_db


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(html: str) -> list[str]:
    """Each table row's text, tags dropped."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    ]


def test_it_lists_each_draft_with_the_key_that_wrote_it(team, fake_providers):
    set_plan(team.org, "pro")
    store_key(team.org)
    fake_providers.add_key(BACKUP_OPENAI_KEY)
    store_key(team.org, slot="backup", key=BACKUP_OPENAI_KEY)
    fake_providers.set_key_scenario(VALID_KEYS["openai"], "rate_limited")
    drafted = page(team.member).post(
        "/messages/", {"action": "draft", "prompt": "Hello", "tone": "warm"}
    )
    assert "with your backup key" in drafted.content.decode()

    messages_page = page(team.member).get("/messages/").content.decode()
    assert 'href="/plan/#calls-heading"' in messages_page
    history = rows(page(team.member).get("/plan/").content.decode())
    assert any(
        "Message draft Your backup key" in row and row.endswith("Answered") for row in history
    ), history
    assert any(
        "Message draft Your main key" in row and row.endswith("Failed (rate_limited)")
        for row in history
    ), history
    outsider = page(team.outsider).get("/plan/").content.decode()
    assert "Your backup key" not in outsider
