"""GET /api/usage, the plan and budget API, the CSV export, the WhatsApp ledger, the Plan and
usage page with its charts, and the admin's plan fields."""

import csv
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from conftest import api_client
from organizations.models import AuditEvent, Organization, User
from plans.models import AIUsage, WhatsAppUsage
from plans.services import month_start
from plans.tests.conftest import GENERATE, set_plan, store_key
from whatsapp import events

pytestmark = pytest.mark.django_db


def page(user):
    client = Client()
    client.force_login(user)
    return client


def status(org, message_id, state, pricing=None):
    events.publish(
        events.StatusUpdate(
            organization=org, message_id=message_id, status=state, pricing=pricing or {}
        )
    )


# --- GET /api/usage ---------------------------------------------------------------------------


def test_it_reports_the_months_usage_per_credential_and_day(team, fake_providers, backup_key):
    set_plan(team.org, "pro")
    store_key(team.org)
    api_client(team.member).post(GENERATE, {"prompt": "Hi"}, format="json")
    status(team.org, "wamid.1", "sent")
    status(
        team.org,
        "wamid.1",
        "delivered",
        {"billable": True, "pricing_model": "PMP", "category": "marketing"},
    )
    status(team.org, "wamid.2", "sent", {"billable": False, "category": "service"})
    body = api_client(team.member).get("/api/usage").json()
    today = timezone.localdate()
    assert body["month"] == f"{today:%Y-%m}" and body["plan"] == "pro"
    assert body["ai"]["calls"] == 1
    assert body["ai"]["input_tokens"] == 12 and body["ai"]["output_tokens"] == 1
    assert body["ai"]["cost_usd"] == pytest.approx(0.0000024)
    assert body["ai"]["by_credential"]["primary"]["calls"] == 1
    assert body["ai"]["by_credential"]["backup"]["calls"] == 0
    day = next(d for d in body["ai"]["by_day"] if d["date"] == today.isoformat())
    assert day["calls"] == 1
    assert len(body["ai"]["by_day"]) >= 28
    assert body["whatsapp"]["sent"] == 2 and body["whatsapp"]["delivered"] == 1
    assert body["whatsapp"]["billable_by_category"] == {"marketing": 1}
    caps = {c["cap"]: c for c in body["caps"]}
    assert set(caps) == {"ai_cost_cap_usd", "ai_token_cap", "broadcast_recipients"}
    assert caps["ai_token_cap"]["limit"] is None and caps["ai_token_cap"]["used"] == 13


def test_it_answers_an_empty_month_and_refuses_a_malformed_one(team):
    client = api_client(team.member)
    body = client.get("/api/usage?month=2020-02").json()
    assert body["month"] == "2020-02" and len(body["ai"]["by_day"]) == 29
    assert body["ai"]["calls"] == 0 and body["whatsapp"]["sent"] == 0
    for bad in ("2020-13", "20-01", "2020-1", "x", "2020-01%00", "%ED%A0%80", "1999-12"):
        response = client.get(f"/api/usage?month={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error_code"] in ("invalid_input", "bad_request")


def test_it_keeps_each_organizations_usage_apart(team, fake_providers):
    store_key(team.org)
    api_client(team.member).post(GENERATE, {"prompt": "Hi"}, format="json")
    assert api_client(team.outsider).get("/api/usage").json()["ai"]["calls"] == 0
    assert api_client(team.outsider, team.org).get("/api/usage").status_code == 404
    assert api_client().get("/api/usage").status_code == 401


def test_it_records_a_send_in_the_ledger_once(team):
    from plans.services import whatsapp_usage_record_sent

    whatsapp_usage_record_sent(organization=team.org, message_id="wamid.X")
    whatsapp_usage_record_sent(organization=team.org, message_id="wamid.X")
    status(team.org, "wamid.X", "read", {"billable": "yes", "category": 5})  # odd types
    row = WhatsAppUsage.objects.get()
    assert row.delivered_at is not None and row.billable is None and row.pricing_category == ""


# --- plan and budget ----------------------------------------------------------------------------


def test_it_lets_only_owners_set_the_own_key_budget(team):
    body = {"ai_cost_cap_usd": "12.50", "ai_token_cap": 100000}
    for user, code in ((team.member, 403), (team.admin, 403)):
        assert api_client(user).put("/api/plan/budget", body, format="json").status_code == code
    assert api_client(team.outsider, team.org).put("/api/plan/budget", body).status_code == 404
    response = api_client(team.owner).put("/api/plan/budget", body, format="json")
    assert response.status_code == 200
    assert response.json()["ai_cost_cap_usd"] == 12.5
    team.org.refresh_from_db()
    assert team.org.ai_cost_cap_usd == Decimal("12.50") and team.org.ai_token_cap == 100000
    event = AuditEvent.objects.get(action="organization.budget_changed")
    assert event.actor == team.owner and event.metadata["after"]["ai_token_cap"] == 100000
    assert api_client(team.outsider).get("/api/plan").json()["ai_cost_cap_usd"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"ai_cost_cap_usd": -1, "ai_token_cap": None},
        {"ai_cost_cap_usd": "1e30", "ai_token_cap": None},
        {"ai_cost_cap_usd": None, "ai_token_cap": 2**70},
        {"ai_cost_cap_usd": None, "ai_token_cap": "many"},
        {"ai_cost_cap_usd": None, "ai_token_cap": None, "ai_use_priority": "platform_first"},
        ["not", "an", "object"],
    ],
)
def test_it_refuses_a_bad_budget_and_changes_nothing(team, body):
    response = api_client(team.owner).put("/api/plan/budget", body, format="json")
    assert response.status_code == 400
    team.org.refresh_from_db()
    assert team.org.ai_cost_cap_usd is None and team.org.ai_token_cap is None


def test_it_lets_an_enterprise_owner_choose_the_platform_key_first(team):
    set_plan(team.org, "enterprise")
    response = api_client(team.owner).put(
        "/api/plan/budget",
        {"ai_cost_cap_usd": None, "ai_token_cap": None, "ai_use_priority": "platform_first"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["ai_use_priority"] == "platform_first"
    assert "platform's managed AI key" in " ".join(response.json()["includes"])


# --- export ---------------------------------------------------------------------------------


def test_it_exports_every_organizations_month_for_superusers_only(team, fake_providers):
    store_key(team.org)
    api_client(team.member).post(GENERATE, {"prompt": "Hi"}, format="json")
    Organization.objects.create(name="=HYPERLINK(evil)", slug="evil")
    root = User.objects.create_superuser(email="root@platform.test", password="x" * 20)
    month = f"{month_start():%Y-%m}"
    assert api_client(team.owner).get(f"/api/usage/export?month={month}").status_code == 403
    response = api_client(root).get(f"/api/usage/export?month={month}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("month,organization,slug,plan,ai_calls")
    grace = next(line for line in lines if ",grace-church," in line)
    assert grace.startswith(f"{month},Grace Church,grace-church,free,1,12,1,")
    assert any(line.startswith(f"{month},'=HYPERLINK(evil)") for line in lines)
    admin_csv = page(root).get(f"/admin/plans/aiusage/export/?month={month}")
    assert admin_csv.status_code == 200 and b"grace-church" in admin_csv.content


# --- the page -----------------------------------------------------------------------------------


def test_it_shows_the_plan_usage_and_charts_to_every_member(team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "pro", ai_token_cap=13)
    api_client(team.member).post(GENERATE, {"prompt": "Hi"}, format="json")
    html = page(team.member).get("/plan/").content.decode()
    assert "Your plan: Pro" in html and "A backup AI key" in html
    assert "Used up; starts again on" in html  # 13 of 13 tokens
    assert "AI tokens with your own key" in html
    assert html.count('class="chart"') == 4
    assert "Only owners change the budget" in html
    assert "Your main key" in html  # the recent calls say which key served them
    month = f"{month_start():%Y-%m}"
    chart = page(team.member).get(f"/plan/chart/ai.svg?month={month}")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert b"<script" not in chart.content and b"<svg" in chart.content
    assert "'unsafe-inline'" in chart["Content-Security-Policy"]
    assert "script-src 'self'" in chart["Content-Security-Policy"]
    assert page(team.member).get("/plan/chart/other.svg?month=2026-01").status_code == 404
    assert page(team.member).get("/plan/chart/ai.svg?month=nope").status_code == 404
    assert page(team.outsider).get("/plan/").content.decode().count("Answered") == 0


def test_it_lets_only_owners_save_the_budget_on_the_page(team):
    form = {"ai_cost_cap_usd": "5", "ai_token_cap": ""}
    assert page(team.admin).post("/plan/", form).status_code == 403
    assert page(team.member).post("/plan/", form).status_code == 403
    team.org.refresh_from_db()
    assert team.org.ai_cost_cap_usd is None
    assert page(team.owner).post("/plan/", {"ai_cost_cap_usd": "-5"}).status_code == 400
    response = page(team.owner).post("/plan/", form)
    assert response.status_code == 302
    team.org.refresh_from_db()
    assert team.org.ai_cost_cap_usd == Decimal("5") and team.org.ai_token_cap is None
    # The outsider's page acts for its own organization only.
    page(team.outsider).post("/plan/", {"ai_cost_cap_usd": "1", "ai_token_cap": ""})
    team.org.refresh_from_db()
    assert team.org.ai_cost_cap_usd == Decimal("5")


def test_it_lets_superusers_change_the_plan_in_the_admin_audited(team):
    root = User.objects.create_superuser(email="root@platform.test", password="x" * 20)
    url = f"/admin/organizations/organization/{team.org.pk}/change/"
    form = {
        "name": team.org.name,
        "slug": team.org.slug,
        "plan": "enterprise",
        "ai_use_priority": "own_first",
        "ai_cost_cap_usd": "",
        "ai_token_cap": "",
        "platform_ai_cost_cap_usd": "250.00",
        "platform_ai_token_cap": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = page(root).post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    team.org.refresh_from_db()
    assert team.org.plan == "enterprise"
    assert team.org.platform_ai_cost_cap_usd == Decimal("250.00")
    event = AuditEvent.objects.get(action="organization.plan_changed")
    assert event.actor == root
    assert event.metadata["before"]["plan"] == "free"
    assert event.metadata["after"]["plan"] == "enterprise"


def test_it_keeps_old_ledger_rows_out_of_this_month(team):
    row = AIUsage.objects.create(
        organization=team.org,
        purpose="draft",
        credential="primary",
        provider="openai",
        model="gpt-4o-mini",
        ok=True,
        input_tokens=1,
        output_tokens=1,
    )
    AIUsage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert api_client(team.member).get("/api/usage").json()["ai"]["calls"] == 0


# --- unpriced calls: cost unknown, never zero -----------------------------------------------


def ledger_row(org, day, **fields):
    """An AI call recorded at noon on `day` (the ledger's own row, as ai_spend writes it)."""
    values = {
        "purpose": "draft",
        "credential": "primary",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "ok": True,
        "input_tokens": 10,
        "output_tokens": 5,
        **fields,
    }
    row = AIUsage.objects.create(organization=org, **values)
    noon = timezone.make_aware(datetime.combine(day, time(12)))
    AIUsage.objects.filter(pk=row.pk).update(created_at=noon)
    return row


@pytest.fixture
def unpriced_month(team):
    """Day 2: a priced call and an unpriced one; day 3: an unpriced platform call and a failed
    call (not billed, so not counted as unpriced)."""
    month = month_start()
    day2, day3 = month + timedelta(days=1), month + timedelta(days=2)
    ledger_row(team.org, day2, cost_usd=Decimal("0.0012"), price_version="2026-12-05")
    ledger_row(team.org, day2, provider="custom", model="qwen2.5:7b")
    ledger_row(team.org, day3, credential="platform", provider="custom", model="qwen2.5:7b")
    ledger_row(team.org, day3, ok=False, error_code="timeout", input_tokens=None)
    return day2, day3


def test_it_counts_unpriced_calls_per_day(team, unpriced_month):
    day2, day3 = unpriced_month
    body = api_client(team.member).get("/api/usage").json()
    days = {d["date"]: d for d in body["ai"]["by_day"]}
    assert days[day2.isoformat()]["unpriced_calls"] == 1
    assert days[day2.isoformat()]["cost_usd"] == pytest.approx(0.0012)
    assert days[day3.isoformat()]["unpriced_calls"] == 1
    assert days[day3.isoformat()]["calls"] == 2
    assert sum(d["unpriced_calls"] for d in days.values()) == body["ai"]["unpriced_calls"] == 2


def test_it_documents_the_unpriced_calls_of_a_day():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    day = schema["components"]["schemas"]["AIDay"]
    assert "unpriced_calls" in day["required"]
    assert "unknown" in day["properties"]["unpriced_calls"]["description"]


def test_it_shows_unknown_for_days_with_unpriced_calls(team, unpriced_month):
    html = page(team.member).get("/plan/").content.decode()
    assert "<td>0.0012 + unknown (1 call without a price)</td>" in html
    assert "<td>unknown (1 call without a price)</td>" in html
    assert "The cost line counts priced calls only: 2 calls had no price" in html
    chart = page(team.member).get(f"/plan/chart/ai.svg?month={month_start():%Y-%m}")
    assert b"Known cost (USD, right axis; 2 calls had no price)" in chart.content


def test_it_exports_the_platform_keys_unpriced_calls(team, unpriced_month):
    root = User.objects.create_superuser(email="root@platform.test", password="x" * 20)
    response = api_client(root).get(f"/api/usage/export?month={month_start():%Y-%m}")
    header, *rows = csv.reader(response.content.decode().splitlines())
    grace = dict(zip(header, next(r for r in rows if r[2] == "grace-church"), strict=True))
    assert grace["ai_unpriced_calls"] == "2"
    assert grace["platform_calls"] == "1" and grace["platform_unpriced_calls"] == "1"
    assert grace["ai_cost_usd"] == "0.00120000" and grace["platform_cost_usd"] == "0.00000000"


# --- names and the warning share --------------------------------------------------------------


def test_it_names_providers_in_the_admin_and_the_ledger(team):
    row = ledger_row(team.org, month_start(), cost_usd=Decimal("0.001"))
    ledger_row(team.org, month_start(), provider="anthropic", model="claude-haiku-4-5")
    root = User.objects.create_superuser(email="root@platform.test", password="x" * 20)
    html = page(root).get("/admin/plans/aiusage/").content.decode()
    assert '<td class="field-provider_name">OpenAI (ChatGPT)</td>' in html
    assert "Anthropic (Claude)" in html  # the filter and the column
    filtered = page(root).get("/admin/plans/aiusage/?provider=openai").content.decode()
    assert "OpenAI (ChatGPT)" in filtered and 'field-provider_name">Anthropic' not in filtered
    row.refresh_from_db()
    assert str(row).startswith("Message draft, OpenAI (ChatGPT), ")


@pytest.mark.parametrize("ratio, used, warned", [(0.5, 60, True), (0.9, 85, False)])
def test_it_says_who_was_warned_at_the_configured_share(team, settings, ratio, used, warned):
    from plans.models import Budget, UsageCounter

    settings.BUDGET_WARNING_RATIO = ratio
    set_plan(team.org, "free", ai_token_cap=100)
    UsageCounter.objects.create(
        organization=team.org, month=month_start(), budget=Budget.OWN, tokens=used
    )
    html = page(team.member).get("/plan/").content.decode()
    assert f"{used}% used" in html
    assert ("were warned by email" in html) is warned
