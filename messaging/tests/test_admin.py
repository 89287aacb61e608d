"""Sent messages and drafts are visible to superusers in the admin, and only visible."""

import pytest
from django.test import Client

from messaging.models import MessageKind, MessageRecord, SendStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(team):
    sent = MessageRecord.objects.create(
        organization=team.org,
        user=team.member,
        kind=MessageKind.SEND,
        ok=True,
        to="16505551234",
        text="Service starts at 10am this Sunday.",
        message_id="wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
        status=SendStatus.DELIVERED,
    )
    draft = MessageRecord.objects.create(
        organization=team.org,
        user=team.owner,
        kind=MessageKind.DRAFT,
        ok=True,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=12,
        output_tokens=30,
    )
    return sent, draft


def test_it_lists_and_shows_sent_messages(records, admin_client):
    sent, draft = records
    listing = admin_client.get("/admin/messaging/messagerecord/").content.decode()
    assert "+16505551234" in listing and "Delivered" in listing and "Grace Church" in listing
    page = admin_client.get(f"/admin/messaging/messagerecord/{sent.pk}/change/").content.decode()
    assert "Service starts at 10am this Sunday." in page
    draft_page = admin_client.get(f"/admin/messaging/messagerecord/{draft.pk}/change/")
    assert "OpenAI (ChatGPT)" in draft_page.content.decode()


def test_it_keeps_them_read_only(records, admin_client):
    sent, _ = records
    assert admin_client.get("/admin/messaging/messagerecord/add/").status_code == 403
    admin_client.post(
        f"/admin/messaging/messagerecord/{sent.pk}/change/", {"text": "Changed", "to": "1"}
    )
    admin_client.post(f"/admin/messaging/messagerecord/{sent.pk}/delete/", {"post": "yes"})
    sent.refresh_from_db()
    assert sent.text == "Service starts at 10am this Sunday." and sent.to == "16505551234"
    page = admin_client.get(f"/admin/messaging/messagerecord/{sent.pk}/change/").content.decode()
    assert 'name="text"' not in page


def test_it_keeps_church_members_out(records, team):
    client = Client()
    client.force_login(team.owner)
    response = client.get("/admin/messaging/messagerecord/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
