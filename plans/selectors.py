"""Reads for plans and usage: a month's usage of one organization, its caps, and the export of
every organization's month."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from organizations.models import Organization
from plans.models import AIUsage, Budget, Credential, UsageCounter, WhatsAppUsage
from plans.registry import plan_for
from plans.services import CAPS, month_resets_at, month_start, next_month


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month as aware datetimes (server time zone)."""
    start = timezone.make_aware(datetime.combine(month, time.min))
    return start, timezone.make_aware(datetime.combine(next_month(month), time.min))


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def _days(month: date) -> list[date]:
    end = next_month(month)
    return [month + timedelta(days=i) for i in range((end - month).days)]


def _cost(value) -> Decimal:
    return (value or Decimal(0)).quantize(Decimal("0.00000001"))


# Answered calls whose cost is unknown (model not in the price table): their cost counts as
# unknown, never as zero, wherever a total is shown.
UNPRICED = Q(cost_usd__isnull=True, ok=True)


def _ai_totals(rows) -> dict:
    totals = rows.aggregate(
        calls=Count("id"),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        total_cost=Sum("cost_usd"),
        unpriced_calls=Count("id", filter=UNPRICED),
    )
    return {
        "calls": totals["calls"],
        "input_tokens": totals["input_tokens"] or 0,
        "output_tokens": totals["output_tokens"] or 0,
        "cost_usd": _cost(totals["total_cost"]),
        "unpriced_calls": totals["unpriced_calls"],
    }


def ai_usage_month(organization: Organization, month: date) -> dict:
    start, end = month_bounds(month)
    rows = AIUsage.objects.filter(
        organization=organization, created_at__gte=start, created_at__lt=end
    )
    result = _ai_totals(rows)
    result["by_credential"] = {
        credential: _ai_totals(rows.filter(credential=credential))
        for credential in Credential.values
    }
    daily = {
        row["day"]: row
        for row in rows.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            calls=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            total_cost=Sum("cost_usd"),
            unpriced_calls=Count("id", filter=UNPRICED),
        )
    }
    result["by_day"] = [
        {
            "date": day,
            "calls": daily.get(day, {}).get("calls") or 0,
            "input_tokens": daily.get(day, {}).get("input_tokens") or 0,
            "output_tokens": daily.get(day, {}).get("output_tokens") or 0,
            # The priced calls' cost; with unpriced_calls > 0 the day's real cost is more.
            "cost_usd": _cost(daily.get(day, {}).get("total_cost")),
            "unpriced_calls": daily.get(day, {}).get("unpriced_calls") or 0,
        }
        for day in _days(month)
    ]
    return result


def whatsapp_usage_month(organization: Organization, month: date) -> dict:
    start, end = month_bounds(month)
    rows = WhatsAppUsage.objects.filter(
        organization=organization, sent_at__gte=start, sent_at__lt=end
    )
    totals = rows.aggregate(
        sent=Count("id"), delivered=Count("id", filter=Q(delivered_at__isnull=False))
    )
    by_category = {
        row["pricing_category"]: row["n"]
        for row in rows.filter(billable=True)
        .values("pricing_category")
        .annotate(n=Count("id"))
        .order_by("pricing_category")
    }
    sent_by_day = {
        row["day"]: row["n"]
        for row in rows.annotate(day=TruncDate("sent_at")).values("day").annotate(n=Count("id"))
    }
    delivered_by_day = {
        row["day"]: row["n"]
        for row in rows.filter(delivered_at__isnull=False)
        .annotate(day=TruncDate("delivered_at"))
        .values("day")
        .annotate(n=Count("id"))
    }
    return {
        "sent": totals["sent"],
        "delivered": totals["delivered"],
        "billable_by_category": {(k or "unknown"): v for k, v in by_category.items()},
        "by_day": [
            {
                "date": day,
                "sent": sent_by_day.get(day, 0),
                "delivered": delivered_by_day.get(day, 0),
            }
            for day in _days(month)
        ],
    }


def caps_month(organization: Organization, month: date) -> list[dict]:
    """Every cap that applies to the organization, with what the month used of it."""
    counters = {
        c.budget: c for c in UsageCounter.objects.filter(organization=organization, month=month)
    }
    plan = plan_for(organization)
    resets_at = month_resets_at(month)
    ratio = Decimal(str(settings.BUDGET_WARNING_RATIO))
    caps = []
    for cap in CAPS:
        if cap.budget == Budget.PLATFORM and not plan.platform_key:
            continue
        limit = cap.limit(organization)
        counter = counters.get(cap.budget)
        used = getattr(counter, cap.counter_field) if counter else 0
        used = _cost(used) if cap.unit == "usd" else int(used)
        caps.append(
            {
                "cap": cap.name,
                "label": cap.label,
                "unit": cap.unit,
                "limit": limit,
                "used": used,
                "percent": (min(999, int(Decimal(used) * 100 / Decimal(limit))) if limit else None),
                "exhausted": limit is not None and used >= limit,
                # The share at which owners and admins are emailed (services._warn_once).
                "warning_reached": bool(limit) and Decimal(used) >= ratio * Decimal(limit),
                "resets_at": resets_at,
            }
        )
    return caps


def usage_month(organization: Organization, month: date | None = None) -> dict:
    """The body of GET /api/usage."""
    month = month or month_start()
    return {
        "month": f"{month:%Y-%m}",
        "plan": plan_for(organization).id,
        "ai": ai_usage_month(organization, month),
        "whatsapp": whatsapp_usage_month(organization, month),
        "caps": caps_month(organization, month),
    }


def recent_ai_calls(organization: Organization, limit: int = 20):
    return AIUsage.objects.filter(organization=organization).select_related("user")[:limit]


PLATFORM = Q(credential=Credential.PLATFORM)

EXPORT_COLUMNS = (
    "month",
    "organization",
    "slug",
    "plan",
    "ai_calls",
    "ai_input_tokens",
    "ai_output_tokens",
    "ai_cost_usd",
    "ai_unpriced_calls",
    "platform_calls",
    "platform_input_tokens",
    "platform_output_tokens",
    "platform_cost_usd",
    "platform_unpriced_calls",
    "whatsapp_sent",
    "whatsapp_delivered",
    "whatsapp_billable",
)


def usage_export_rows(month: date):
    """One row per organization for the month (superusers' CSV for invoicing). A cost column
    sums the priced calls; its unpriced column counts the answered calls it leaves out."""
    start, end = month_bounds(month)
    ai = {
        row["organization"]: row
        for row in AIUsage.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("organization")
        .annotate(
            calls=Count("id"),
            in_tokens=Sum("input_tokens"),
            out_tokens=Sum("output_tokens"),
            total_cost=Sum("cost_usd"),
            unpriced=Count("id", filter=UNPRICED),
            p_calls=Count("id", filter=PLATFORM),
            p_input=Sum("input_tokens", filter=PLATFORM),
            p_output=Sum("output_tokens", filter=PLATFORM),
            p_cost=Sum("cost_usd", filter=PLATFORM),
            p_unpriced=Count("id", filter=PLATFORM & UNPRICED),
        )
    }
    wa = {
        row["organization"]: row
        for row in WhatsAppUsage.objects.filter(sent_at__gte=start, sent_at__lt=end)
        .values("organization")
        .annotate(
            sent=Count("id"),
            delivered=Count("id", filter=Q(delivered_at__isnull=False)),
            billable=Count("id", filter=Q(billable=True)),
        )
    }
    for org in Organization.objects.order_by("name", "id").iterator():
        a, w = ai.get(org.pk, {}), wa.get(org.pk, {})
        yield (
            f"{month:%Y-%m}",
            org.name,
            org.slug,
            org.plan,
            a.get("calls", 0),
            a.get("in_tokens") or 0,
            a.get("out_tokens") or 0,
            _cost(a.get("total_cost")),
            a.get("unpriced", 0),
            a.get("p_calls", 0),
            a.get("p_input") or 0,
            a.get("p_output") or 0,
            _cost(a.get("p_cost")),
            a.get("p_unpriced", 0),
            w.get("sent", 0),
            w.get("delivered", 0),
            w.get("billable", 0),
        )
