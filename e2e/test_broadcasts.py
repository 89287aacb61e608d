"""A church reaches its congregation: through the real pages in a real browser, an owner
imports its people from a CSV, syncs its templates, sends an approved template to a group,
watches the progress bar finish without reloading, sees each person's delivery status, and a
person who answered STOP is not sent the next broadcast and is listed as skipped."""

import json

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage
from playwright.sync_api import expect

from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from e2e.test_journey import assert_pages_healthy, register
from messaging.broadcasts import sending
from messaging.models import Broadcast, BroadcastRecipient
from organizations.models import Membership, User
from whatsapp import services as whatsapp_services
from whatsapp.models import WhatsAppConfig
from whatsapp.signatures import sign

pytestmark = pytest.mark.e2e
APP_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CSV = (
    "name,phone,groups,opted_in\n"
    "Ana Souza,+55 11 98765-4321,Youth,yes\n"
    "Ben Carter,+44 7911 123456,Youth,yes\n"
    "Carla Ruiz,+34 612 345 678,Youth,yes\n"
)


@pytest.fixture
def queued_tasks():
    """Tasks wait in a queue nobody consumes, so the page shows a broadcast before it is sent
    (the test then sends it, as a consumer would)."""
    saved = HUEY.immediate, HUEY.storage
    HUEY._immediate = False
    HUEY.storage = MemoryStorage("e2e-broadcasts")
    yield
    HUEY._immediate, HUEY.storage = saved


def post_webhook(config, value):
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    response = Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(app_secret=APP_SECRET, body=body),
    )
    assert response.status_code == 200


def webhook_value(**items):
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550967852", "phone_number_id": PHONE_NUMBER_ID},
        **items,
    }


def test_it_imports_syncs_broadcasts_and_skips_who_said_stop(
    tab, e2e_fakes, live_server, queued_tasks
):
    _, fake_graph = e2e_fakes
    page = tab.page
    register(page)
    owner = User.objects.get()
    whatsapp_services.whatsapp_config_save(
        membership=Membership.objects.get(user=owner),
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=VALID_TOKEN,
        app_secret=APP_SECRET,
    )
    config = WhatsAppConfig.objects.get()
    fake_graph.add_template(
        "sunday_service", body="Hi {{1}}, our service starts at {{2}}. Welcome!"
    )

    # Import the congregation from a CSV (previewed first).
    page.goto("/contacts/import/")
    page.get_by_label("CSV file").set_input_files(
        {"name": "members.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_role("heading", name="3 contacts")).to_be_visible()

    # Sync the templates from Meta (the task runs as a consumer would).
    page.goto("/messages/templates/")
    page.get_by_role("button", name="Sync now").click()
    for task in HUEY.pending():
        task.execute()
    page.goto("/messages/templates/")
    expect(page.get_by_text("sunday_service").first).to_be_visible()

    # A broadcast to the Youth group: preview, then send.
    page.goto("/broadcasts/new/")
    page.get_by_label("Name").fill("Sunday service")
    page.get_by_label("Approved template").select_option(label="sunday_service (en_US) · Marketing")
    page.get_by_label("Youth (3)").check()
    page.get_by_role("button", name="Next: fill in and preview").click()
    page.get_by_label("Variable {{1}}").fill("{{first_name|friend}}")
    page.get_by_label("Variable {{2}}").fill("10 am")
    page.get_by_role("button", name="Update preview").click()
    expect(page.get_by_text("3 people will receive it, of 3 chosen.")).to_be_visible()
    page.get_by_role("button", name="Send broadcast").click()
    expect(page.get_by_role("heading", name="Sunday service")).to_be_visible()
    expect(page.locator("[data-field=progress_text]")).to_have_text("0%")

    # The consumer sends it; the page's progress bar follows without a reload.
    broadcast = Broadcast.objects.get()
    sending.broadcast_run(broadcast_id=broadcast.pk)
    expect(page.locator("[data-field=progress_text]")).to_have_text("100%", timeout=10_000)
    expect(page.locator("[data-field=status_words]")).to_have_text("Done")
    assert sorted(s["to"] for s in fake_graph.sent) == [
        "34612345678",
        "447911123456",
        "5511987654321",
    ]

    # Delivery statuses arrive from the webhook: each person's row says so.
    ana = BroadcastRecipient.objects.get(phone="+5511987654321")
    for status in ("delivered", "read"):
        post_webhook(
            config,
            webhook_value(
                statuses=[
                    {
                        "id": ana.message_id,
                        "status": status,
                        "timestamp": "1764081000",
                        "recipient_id": "5511987654321",
                    }
                ]
            ),
        )
    page.reload()
    expect(page.locator("tr", has_text="Ana Souza")).to_contain_text("Read")
    expect(page.locator("tr", has_text="Ben Carter")).to_contain_text("Sent")

    # Ben answers STOP: the next broadcast skips him, and says why before sending.
    post_webhook(
        config,
        webhook_value(
            contacts=[{"profile": {"name": "Ben"}, "wa_id": "447911123456"}],
            messages=[
                {
                    "from": "447911123456",
                    "id": "wamid.ben-stop",
                    "timestamp": "1764081100",
                    "type": "text",
                    "text": {"body": "STOP"},
                }
            ],
        ),
    )
    page.goto("/broadcasts/new/")
    page.get_by_label("Name").fill("Next Sunday")
    page.get_by_label("Approved template").select_option(label="sunday_service (en_US) · Marketing")
    page.get_by_label("Youth (3)").check()
    page.get_by_role("button", name="Next: fill in and preview").click()
    page.get_by_label("Variable {{1}}").fill("friend")
    page.get_by_label("Variable {{2}}").fill("10 am")
    page.get_by_role("button", name="Update preview").click()
    expect(page.get_by_text("2 people will receive it, of 3 chosen.")).to_be_visible()
    expect(page.get_by_text("1 · Opted out")).to_be_visible()

    # Sent: Ben is not sent to, and his row says he was skipped and why.
    fake_graph.sent.clear()
    page.get_by_role("button", name="Send broadcast").click()
    expect(page.get_by_role("heading", name="Next Sunday")).to_be_visible()
    second = Broadcast.objects.get(name="Next Sunday")
    sending.broadcast_run(broadcast_id=second.pk)
    expect(page.locator("[data-field=progress_text]")).to_have_text("100%", timeout=10_000)
    expect(page.locator("[data-field=status_words]")).to_have_text("Done")
    assert sorted(s["to"] for s in fake_graph.sent) == ["34612345678", "5511987654321"]
    page.reload()
    ben = page.locator("tr", has_text="Ben Carter")
    expect(ben).to_contain_text("Skipped")
    expect(ben).to_contain_text("Opted out")
    assert BroadcastRecipient.objects.get(broadcast=second, phone="+447911123456").status == (
        "skipped"
    )
    assert_pages_healthy(tab, live_server)
