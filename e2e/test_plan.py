"""The Plan and usage page in a real browser: the plan, the usage after a draft, and the
server-rendered charts (SVG images, no JavaScript, nothing from elsewhere)."""

import pytest
from playwright.sync_api import expect

from aiconfig.models import AIConfig
from devtools.fakes.providers import VALID_KEYS
from e2e.test_journey import assert_pages_healthy, register
from organizations.models import Organization

pytestmark = pytest.mark.e2e


def test_it_shows_the_plan_usage_and_charts(tab, e2e_fakes, live_server):
    page = tab.page
    register(page)
    org = Organization.objects.get(name="New Life Church")
    AIConfig.objects.create(
        organization=org, provider="openai", api_key=VALID_KEYS["openai"], model="gpt-4o-mini"
    )
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    page.get_by_label("What should the message say?").fill("Picnic on Saturday")
    page.get_by_label("Tone").select_option("joyful")
    page.get_by_role("button", name="Draft with AI").click()
    expect(page.get_by_text("with your main key")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Plan and usage").click()
    expect(page.get_by_role("heading", name="Your plan: Free")).to_be_visible()
    expect(page.get_by_text("Broadcasts to up to 500 recipients a month")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent AI calls")).to_be_visible()
    expect(page.get_by_role("cell", name="Your main key").first).to_be_visible()
    charts = page.locator("img.chart")
    expect(charts).to_have_count(4)
    for i in range(4):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    # The numbers are in a table too.
    page.get_by_text("Numbers per day").first.click()
    expect(page.locator("details table").first).to_be_visible()

    # The owner sets a budget; the page keeps it.
    page.get_by_label("Monthly AI token cap").fill("13")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_role("status").filter(has_text="The budget is saved")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="is used up")).to_be_visible()
    # No sideways scrolling on a phone or a laptop.
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_pages_healthy(tab, live_server)
