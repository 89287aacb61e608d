"""A church brings its people in: through the real pages in a real browser, an owner sets the
country of numbers typed without +, imports a CSV (previewed row by row first), finds the
contacts, and a member sees them without being able to change them."""

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.test_journey import assert_pages_healthy, register
from messaging.models import Contact
from organizations.models import Membership, Role, User

pytestmark = pytest.mark.e2e

CSV = (
    "name,phone,language,groups,opted_in\n"
    "Ana Souza,+55 11 98765-4321,pt_BR,Youth;Choir,yes\n"
    "Ben Carter,07911 123456,en,Choir,no\n"
    "Nobody,+44 12,en,,\n"
    "Carla Ruiz,+34 612 345 678,es,Youth,yes\n"
)


def open_contacts(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()


@pytest.fixture
def site_url(settings, live_server):
    """Links in emails (the address confirmation at registration) point at the live server."""
    settings.SITE_URL = live_server.url


def test_it_imports_a_csv_after_a_preview_and_lists_the_contacts(tab, live_server, site_url):
    page = tab.page
    register(page)
    open_contacts(page)
    expect(page.get_by_text("No contacts yet.")).to_be_visible()

    # Numbers without + in the file are British.
    page.get_by_role("link", name="Contact settings").click()
    page.get_by_label("Country of numbers typed without +").select_option("GB")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="contact settings were saved")
    ).to_be_visible()

    page.get_by_role("link", name="Import a CSV file", exact=True).click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "members.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Preview the import").click()

    # The preview says what each row will do; nothing is stored yet.
    expect(page.get_by_role("heading", name="Import members.csv?")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("New contact")
    expect(rows.nth(1)).to_contain_text("+447911123456")
    expect(rows.nth(2)).to_contain_text(re.compile(r"Skipped: .*numbering plan"))
    expect(page.locator("dl.summary")).to_contain_text("Youth, Choir")
    assert not Contact.objects.exists()

    page.get_by_role("button", name="Import 3 rows").click()
    expect(
        page.get_by_role("status").filter(has_text="3 contacts added, 0 updated, 1 rows skipped")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="3 contacts")).to_be_visible()
    table = page.locator("table")
    for name in ("Ana Souza", "Ben Carter", "Carla Ruiz"):
        expect(table.get_by_role("link", name=name)).to_be_visible()
    expect(table).to_contain_text("+44 7911 123456")
    expect(table.locator("tr", has_text="Ben Carter")).to_contain_text("Has not agreed yet")
    expect(table.locator("tr", has_text="Ana Souza")).to_contain_text("Agreed")

    # Search and the group filter narrow the list.
    page.get_by_label("Search").fill("carla")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 contact found")).to_be_visible()
    page.get_by_role("link", name="Show everyone").click()
    page.get_by_label("Group").select_option(label="Choir")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="2 contacts found")).to_be_visible()
    expect(page.locator("table")).not_to_contain_text("Carla Ruiz")
    assert_pages_healthy(tab, live_server)


def test_it_shows_a_member_the_contacts_read_only(open_tab, live_server, site_url):
    owner_tab = open_tab()
    register(owner_tab.page)
    owner = User.objects.get()
    organization = owner.memberships.get().organization
    Contact.objects.create(organization=organization, phone="+447911123456", name="Ben Carter")
    member = User.objects.create_user(email="usher@newlife.test", password="Sturdy-Passw0rd-1")
    Membership.objects.create(user=member, organization=organization, role=Role.MEMBER)

    page = open_tab().page
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("usher@newlife.test")
    page.get_by_label("Password").fill("Sturdy-Passw0rd-1")
    page.get_by_role("button", name="Log in").click()
    open_contacts(page)
    expect(page.get_by_role("link", name="Add a contact")).to_have_count(0)
    page.get_by_role("link", name="Ben Carter").click()
    expect(page.get_by_text("Only owners and admins can change contacts.")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
