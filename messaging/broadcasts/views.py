"""The Broadcasts pages: the list, a new broadcast (choose, preview who is skipped, send),
and one broadcast's progress with its recipients. Thin: services and selectors do the work."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import ServiceError
from messaging.broadcasts import reports, selectors, services
from messaging.broadcasts.forms import BroadcastForm
from messaging.contacts.selectors import contact_groups_for
from messaging.selectors import templates_for
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip

ACTIVE = ("scheduled", "queued", "sending")


def _broadcast_or_404(request, broadcast_id):
    broadcast = selectors.broadcast_get(request.membership.organization, broadcast_id)
    if broadcast is None:
        raise Http404("No such broadcast.")
    return broadcast


@membership_required
def broadcast_list(request):
    paginator = Paginator(selectors.broadcasts_for(request.membership.organization), 20)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(b, selectors.broadcast_counts(b)) for b in page.object_list]
    for broadcast, counts in rows:
        broadcast.progress = selectors.broadcast_progress_percent(counts)
    return render(
        request,
        "broadcasts/list.html",
        {"membership": request.membership, "page": page, "rows": rows},
    )


def _sendable_templates(organization):
    return [t for t in templates_for(organization) if t.sendable]


@membership_required(manager=True)
def broadcast_new(request):
    """GET: the form. POST action=preview: fills in the variables and shows who would be
    skipped and why; action=send: creates the broadcast (the task engine sends it)."""
    organization = request.membership.organization
    templates = _sendable_templates(organization)
    groups = list(contact_groups_for(organization).order_by("name"))
    data = request.POST if request.method == "POST" else None
    form = BroadcastForm(data, templates=templates, groups=groups)
    template = form.chosen_template()
    context = {
        "membership": request.membership,
        "form": form,
        "templates": templates,
        "template": template,
    }
    if request.method != "POST":
        return render(request, "broadcasts/new.html", context)
    if not form.is_valid():
        return render(request, "broadcasts/new.html", context, status=400)
    context["audience"] = selectors.broadcast_audience(
        organization=organization,
        group_ids=form.cleaned_data["groups"],
        marketing=template.category == "MARKETING",
    )
    context["skip_reasons"] = selectors.SKIP_REASONS
    if request.POST.get("action") != "send" or not form.has_values():
        return render(request, "broadcasts/new.html", context)
    try:
        broadcast = services.broadcast_create(
            membership=request.membership,
            name=form.cleaned_data["name"],
            template_name=template.name,
            template_language=template.language,
            variables=form.variables(),
            group_ids=form.cleaned_data["groups"],
            scheduled_at=form.cleaned_data.get("scheduled_at"),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        apply_service_error(form, exc)
        return render(request, "broadcasts/new.html", context, status=400)
    messages.success(request, "The broadcast is on its way. Its progress shows below.")
    return redirect("broadcast-detail", broadcast_id=broadcast.pk)


@membership_required
def broadcast_detail(request, broadcast_id):
    broadcast = _broadcast_or_404(request, broadcast_id)
    counts = selectors.broadcast_counts(broadcast)
    paginator = Paginator(selectors.broadcast_recipients(broadcast), 50)
    return render(
        request,
        "broadcasts/detail.html",
        {
            "membership": request.membership,
            "broadcast": broadcast,
            "counts": counts,
            "progress": selectors.broadcast_progress_percent(counts),
            "active": broadcast.status in ACTIVE,
            "page": paginator.get_page(request.GET.get("page")),
            "skip_reasons": selectors.SKIP_REASONS,
        },
    )


@membership_required
def broadcast_progress(request, broadcast_id):
    """The progress as JSON, for the page's own refresh (the API serves other clients)."""
    broadcast = _broadcast_or_404(request, broadcast_id)
    counts = selectors.broadcast_counts(broadcast)
    return JsonResponse(
        {
            "status": broadcast.status,
            "status_words": broadcast.get_status_display(),
            "pause_reason": broadcast.pause_reason,
            "progress": selectors.broadcast_progress_percent(counts),
            "counts": counts,
            "active": broadcast.status in ACTIVE,
        }
    )


@membership_required
def broadcast_report(request, broadcast_id):
    return reports.broadcast_report_response(_broadcast_or_404(request, broadcast_id))


@membership_required(manager=True)
@require_POST
def broadcast_cancel(request, broadcast_id):
    broadcast = _broadcast_or_404(request, broadcast_id)
    services.broadcast_cancel(
        membership=request.membership, broadcast_id=broadcast.pk, ip=client_ip(request)
    )
    messages.success(request, "The broadcast was cancelled. Nobody else will receive it.")
    return redirect("broadcast-detail", broadcast_id=broadcast.pk)


@membership_required(manager=True)
@require_POST
def broadcast_resume(request, broadcast_id):
    broadcast = _broadcast_or_404(request, broadcast_id)
    try:
        services.broadcast_resume(
            membership=request.membership, broadcast_id=broadcast.pk, ip=client_ip(request)
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The broadcast goes on.")
    return redirect("broadcast-detail", broadcast_id=broadcast.pk)
