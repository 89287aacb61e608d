"""The Plan and usage page: the plan, what it includes, this month's use against the caps,
charts and tables per day for this month and the last, and the owner's budget form."""

from csp.decorators import csp_update
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from organizations.forms import apply_service_error
from organizations.models import Role
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from plans import charts, selectors, services
from plans.forms import BudgetForm
from plans.registry import plan_for
from plans.serializers import parse_month


def _budget_form(organization, data=None):
    return BudgetForm(
        data,
        platform_key=plan_for(organization).platform_key,
        initial={
            "ai_cost_cap_usd": organization.ai_cost_cap_usd,
            "ai_token_cap": organization.ai_token_cap,
            "ai_use_priority": organization.ai_use_priority,
        },
    )


def _month_context(organization, month):
    ai = selectors.ai_usage_month(organization, month)
    whatsapp = selectors.whatsapp_usage_month(organization, month)
    # Both lists hold every day of the month in order: one table row per day.
    return {
        "month": month,
        "ai": ai,
        "whatsapp": whatsapp,
        "days": zip(ai["by_day"], whatsapp["by_day"], strict=True),
    }


@membership_required
def plan_page(request):
    """GET shows the page; POST (owners) saves the budget of the organization's own key."""
    membership = request.membership
    organization = membership.organization
    form, status = _budget_form(organization), 200
    if request.method == "POST":
        form = _budget_form(organization, request.POST)
        if membership.role != Role.OWNER:
            form.add_error(None, "Only owners can change the organization's budget.")
            status = 403
        elif form.is_valid():
            try:
                services.organization_budget_update(
                    membership=membership,
                    ai_cost_cap_usd=form.cleaned_data["ai_cost_cap_usd"],
                    ai_token_cap=form.cleaned_data["ai_token_cap"],
                    ai_use_priority=form.cleaned_data.get("ai_use_priority") or None,
                    ip=client_ip(request),
                )
            except services.ServiceError as exc:
                apply_service_error(form, exc)
                status = 400
            else:
                messages.success(request, "The budget is saved.")
                return redirect("plan")
        else:
            status = 400
    this_month = services.month_start()
    last_month = selectors.previous_month(this_month)
    context = {
        "membership": membership,
        "plan": plan_for(organization),
        "caps": selectors.caps_month(organization, this_month),
        "months": [_month_context(organization, m) for m in (this_month, last_month)],
        "recent_calls": selectors.recent_ai_calls(organization),
        "form": form,
        "is_owner": membership.role == Role.OWNER,
    }
    return render(request, "plans/plan.html", context, status=status)


# The chart is its own small document: pygal styles it with an inline <style>, which the
# page's policy would refuse; it has no script at all.
@require_GET
@csp_update({"style-src": ["'unsafe-inline'"]})
@membership_required
def chart_svg(request, kind: str):
    month = parse_month(request.GET.get("month"))
    if month is None or kind not in ("ai", "messages"):
        raise Http404("No such chart.")
    organization = request.membership.organization
    if kind == "ai":
        svg = charts.ai_chart_svg(month, selectors.ai_usage_month(organization, month)["by_day"])
    else:
        days = selectors.whatsapp_usage_month(organization, month)["by_day"]
        svg = charts.messages_chart_svg(month, days)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response
