"""A church's first hour, through the real pages in a real browser: register, connect an AI
provider and a WhatsApp number, draft a message with AI and send it; a member's read-only view;
a failing key test. Every user action goes through the pages (no API shortcuts)."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from devtools.fakes.graph import (
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    VALID_TOKEN,
    VERIFIED_NAME,
    WABA_ID,
)
from devtools.fakes.providers import VALID_KEYS
from messaging.models import MessageKind, MessageRecord
from organizations.models import Membership, Role

pytestmark = pytest.mark.e2e

OWNER_EMAIL = "pastor@newlife.test"
KEY = VALID_KEYS["openai"]


def register(page: Page, email: str = OWNER_EMAIL, church: str = "New Life Church") -> None:
    page.goto("/accounts/register/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Church or organization name").fill(church)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name=church, level=1)).to_be_visible()
    # The address is confirmed through the emailed link (needed before inviting anyone).
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    mail.outbox.clear()


def open_settings(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Settings of "))).to_be_visible()


def connect_ai(page: Page, provider: str = "openai", key: str = KEY) -> None:
    ai = page.locator("section#ai")
    ai.get_by_label("AI provider").select_option(provider)
    ai.get_by_label("API key", exact=True).fill(key)
    ai.get_by_role("button", name="Test API key").click()


def assert_pages_healthy(tab, live_server) -> None:
    """Everything came from the app itself (no CDN), its own CSS and JS loaded, and the browser
    reported no error (a script or style blocked by the CSP, a missing file, a JS exception)."""
    for own_file in (r"/static/css/app\.([0-9a-f]+\.)?css", r"/static/js/app\.([0-9a-f]+\.)?js"):
        assert any(re.fullmatch(re.escape(live_server.url) + own_file, u) for u in tab.requests)
    assert tab.foreign_requests(live_server.url) == [], "the pages loaded something from elsewhere"
    assert tab.errors == [], "the browser reported errors"


def test_it_takes_a_new_church_from_registration_to_a_sent_message(tab, e2e_fakes, live_server):
    fake_providers, fake_graph = e2e_fakes
    page = tab.page

    register(page)
    open_settings(page)

    # AI provider: test the key, then save it.
    ai = page.locator("section#ai")
    expect(ai.get_by_text("No AI provider is connected yet.")).to_be_visible()
    connect_ai(page)
    expect(ai.get_by_role("status")).to_contain_text("API key is valid")
    expect(ai.get_by_role("status")).to_contain_text("Press Save to keep it.")
    # The page that shows the test result does not echo the key back into the form, yet
    # Save (with the field left empty) saves the key that was just tested.
    expect(ai.get_by_label("API key", exact=True)).to_have_value("")
    expect(ai.get_by_label("API key", exact=True)).to_have_attribute(
        "placeholder", f"Tested key ***{KEY[-4:]}: leave empty to save it"
    )
    assert KEY not in page.content()
    ai.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="AI configuration saved")).to_be_visible()

    # After a reload only the mask is shown; the key itself never comes back to the browser.
    page.reload()
    ai = page.locator("section#ai")
    mask = "***" + KEY[-4:]
    expect(ai.locator("dl.summary")).to_contain_text(mask)
    expect(ai.locator("dl.summary")).to_contain_text("OpenAI (ChatGPT)")
    expect(ai.get_by_text("passed")).to_be_visible()
    key_input = ai.get_by_label("API key", exact=True)
    expect(key_input).to_have_value("")
    expect(key_input).to_have_attribute("placeholder", mask)
    assert KEY not in page.content()
    assert KEY[:-4] not in page.content()
    # Testing again with the field left empty tests the stored key.
    ai.get_by_role("button", name="Test API key").click()
    ai = page.locator("section#ai")
    expect(ai.get_by_role("status")).to_contain_text("API key is valid")
    expect(ai.get_by_role("status")).to_contain_text("Press Save to keep it.")
    assert KEY not in page.content()

    # WhatsApp: test the connection, then save it.
    wa = page.locator("section#whatsapp")
    expect(wa.get_by_text("No WhatsApp number is connected yet.")).to_be_visible()
    wa.get_by_label("Phone number ID").fill(PHONE_NUMBER_ID)
    wa.get_by_label("WhatsApp Business Account ID").fill(WABA_ID)
    wa.get_by_label("Access token").fill(VALID_TOKEN)
    wa.get_by_role("button", name="Test connection").click()
    wa = page.locator("section#whatsapp")
    expect(wa.get_by_role("status")).to_contain_text(
        f"Connected to {DISPLAY_PHONE_NUMBER} ({VERIFIED_NAME})"
    )
    expect(wa.get_by_role("status")).to_contain_text("Press Save to keep it.")
    # The IDs stay in the form; the token is never rendered back, yet Save saves the tested one.
    expect(wa.get_by_label("Phone number ID")).to_have_value(PHONE_NUMBER_ID)
    expect(wa.get_by_label("Access token")).to_have_value("")
    assert VALID_TOKEN not in page.content()
    wa.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="WhatsApp configuration saved")
    ).to_be_visible()
    wa = page.locator("section#whatsapp")
    expect(wa.locator("dl.summary")).to_contain_text(DISPLAY_PHONE_NUMBER)
    expect(wa.locator("dl.summary")).to_contain_text("***" + VALID_TOKEN[-4:])
    assert VALID_TOKEN not in page.content()
    assert KEY not in page.content()

    # Composer: draft with AI, then send the draft.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    expect(page.get_by_text("Nothing sent yet.")).to_be_visible()
    page.get_by_label("What should the message say?").fill(
        "Invite everyone to the Christmas Eve service at 7 pm."
    )
    page.get_by_label("Tone").select_option("warm")
    page.get_by_role("button", name="Draft with AI").click()
    expect(page.get_by_text("Drafted by OpenAI (ChatGPT)")).to_be_visible()
    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value("OK")  # the fake provider's answer
    # The prompt survives the round trip, so the user can draft again.
    expect(page.get_by_label("What should the message say?")).to_have_value(
        "Invite everyone to the Christmas Eve service at 7 pm."
    )
    message.fill("OK, see you at 7 pm!")
    page.get_by_label("Recipient's WhatsApp number").fill("+15551234567")
    page.get_by_role("button", name="Send via WhatsApp").click()
    expect(page.get_by_role("status").filter(has_text="Message sent.")).to_be_visible()

    row = page.locator("table tbody tr").first
    expect(row).to_contain_text("+15551234567")
    expect(row).to_contain_text("OK, see you at 7 pm!")
    expect(row).to_contain_text(OWNER_EMAIL)
    expect(row.locator(".status")).to_have_text("Accepted by WhatsApp")
    expect(page.get_by_text("Nothing sent yet.")).to_have_count(0)

    # It really went through the fakes: the draft from the provider, the message to Graph.
    drafts = [r for r in fake_providers.requests if r.path.endswith("/chat/completions")]
    assert drafts and drafts[-1].headers["authorization"] == f"Bearer {KEY}"
    assert [m["to"] for m in fake_graph.sent] == ["15551234567"]
    assert fake_graph.sent[0]["text"]["body"] == "OK, see you at 7 pm!"
    sent = MessageRecord.objects.get(kind=MessageKind.SEND)
    assert (sent.ok, sent.status, sent.to) == (True, "accepted", "15551234567")
    assert_pages_healthy(tab, live_server)


def test_it_shows_a_member_the_settings_read_only(open_tab, e2e_fakes, live_server):
    owner_tab = open_tab()
    owner = owner_tab.page
    register(owner)
    open_settings(owner)
    connect_ai(owner)
    expect(owner.locator("section#ai").get_by_role("status")).to_contain_text("API key is valid")
    owner.locator("section#ai").get_by_label("API key", exact=True).fill(KEY)
    owner.locator("section#ai").get_by_role("button", name="Save").click()
    expect(owner.get_by_role("status").filter(has_text="AI configuration saved")).to_be_visible()

    # The owner invites a member from the Members page; the member joins through the email.
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    owner.get_by_label("Email").fill("singer@newlife.test")
    owner.get_by_label("Role").select_option("member")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_role("status")).to_contain_text("Invitation sent to singer@newlife.test")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(live_server.url + "/")

    member_tab = open_tab()
    member = member_tab.page
    member.goto(link)
    member.get_by_label("Choose a password").fill(PASSWORD)
    member.get_by_role("button", name="Create account and join").click()
    expect(member.get_by_role("status")).to_contain_text("Welcome to New Life Church")
    assert Membership.objects.get(user__email="singer@newlife.test").role == Role.MEMBER

    open_settings(member)
    ai = member.locator("section#ai")
    expect(ai.locator("dl.summary")).to_contain_text("***" + KEY[-4:])
    expect(ai.locator("form")).to_have_count(0)
    expect(member.get_by_label("API key", exact=True)).to_have_count(0)
    expect(member.get_by_role("button", name="Test API key")).to_have_count(0)
    expect(member.get_by_role("button", name="Save")).to_have_count(0)
    expect(member.get_by_role("button", name="Test connection")).to_have_count(0)
    expect(member.get_by_role("link", name=re.compile("^Remove"))).to_have_count(0)
    expect(member.get_by_text("Ask an owner or admin to connect one.")).to_be_visible()
    assert KEY not in member.content()
    assert_pages_healthy(owner_tab, live_server)
    assert_pages_healthy(member_tab, live_server)


@pytest.mark.parametrize(
    "scenario, key, message",
    [
        (
            "no_credit",
            KEY,
            "The key is valid, but the account has no credit or quota left.",
        ),
        (
            "ok",
            "sk-proj-WRONGopenai0000000000000000000abcd",
            "The provider did not accept this API key.",
        ),
    ],
    ids=["no-credit", "wrong-key"],
)
def test_it_shows_the_classified_message_when_a_key_test_fails(
    tab, e2e_fakes, live_server, scenario, key, message
):
    fake_providers, _ = e2e_fakes
    fake_providers.set_scenario("openai", scenario)
    page = tab.page
    register(page)
    open_settings(page)

    connect_ai(page, key=key)
    ai = page.locator("section#ai")
    expect(ai.get_by_role("alert")).to_contain_text(message)
    expect(ai.locator(".result.ok")).to_have_count(0)

    # Saving the same key is refused the same way, and nothing is stored.
    ai.get_by_label("API key", exact=True).fill(key)
    ai.get_by_role("button", name="Save").click()
    ai = page.locator("section#ai")
    expect(ai.get_by_role("alert").first).to_contain_text(message)
    expect(ai.get_by_text("No AI provider is connected yet.")).to_be_visible()
    assert key not in page.content()
    assert_pages_healthy(tab, live_server)
