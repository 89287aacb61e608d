"""Contacts pages: list (search, group filter, pages), add, edit, delete, groups, the default
country, CSV import with a preview, CSV export. Any member reads; owners and admins write."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from common.errors import ServiceError
from messaging.contacts import csv_io, selectors, services
from messaging.contacts.forms import (
    ContactForm,
    ContactGroupForm,
    ContactImportForm,
    ContactSearchForm,
    ContactSettingsForm,
)
from messaging.contacts.phones import region_choices
from messaging.models import ConsentRecord, PendingContactImport
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip

PAGE_SIZE = 50
PREVIEW_ROWS = 50  # rows shown besides every row with an error or a warning
PENDING_IMPORT_LIFETIME = timedelta(hours=1)


def _groups(membership):
    return selectors.contact_groups_for(membership.organization)


def _save(request, form, action, *, done, to: str):
    """For a valid form, runs `action()`: on success a redirect to `to` with the message
    `done` (or `done(result)`); on refusal None, with the error shown on the form."""
    if not form.is_valid():
        return None
    try:
        result = action()
    except ServiceError as exc:
        apply_service_error(form, exc)
        return None
    messages.success(request, done(result) if callable(done) else done)
    return redirect(to)


def _found(thing, what: str):
    if thing is None:
        raise Http404(f"No such {what}.")
    return thing


@membership_required
def contact_list(request):
    membership = request.membership
    groups = list(_groups(membership))
    form = ContactSearchForm(request.GET or None, groups=groups)
    search, group_id, status = "", None, 200
    if form.is_bound:
        if form.is_valid():
            search = form.cleaned_data["q"]
            group_id = int(form.cleaned_data["group"]) if form.cleaned_data["group"] else None
        else:
            status = 400
    contacts = selectors.contacts_for(membership.organization, search=search, group_id=group_id)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "membership": membership,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "groups": groups,
        "filtered": bool(search or group_id),
        "now": timezone.now(),
        "default_region": selectors.contact_default_region(membership.organization),
    }
    return render(request, "contacts/list.html", context, status=status)


def _contact_or_404(membership, contact_id):
    return _found(selectors.contact_get(membership.organization, contact_id), "contact")


@membership_required(manager=True)
def contact_new(request):
    membership = request.membership
    groups = list(_groups(membership))
    region = selectors.contact_default_region(membership.organization)
    form = ContactForm(request.POST or None, groups=groups, default_region=region)
    if request.method == "POST":
        saved = _save(
            request,
            form,
            lambda: services.contact_create(membership=membership, **form.service_kwargs()),
            done=lambda contact: f"{contact.name or contact.phone} was added.",
            to="contacts",
        )
        return saved or render(
            request, "contacts/form.html", {"form": form, "contact": None}, status=400
        )
    return render(request, "contacts/form.html", {"form": form, "contact": None})


@membership_required
def contact_detail(request, contact_id):
    """Owners and admins edit the contact here; other members see it."""
    membership = request.membership
    contact = _contact_or_404(membership, contact_id)
    context = {
        "membership": membership,
        "contact": contact,
        "consent_records": ConsentRecord.objects.filter(contact=contact).select_related("actor")[
            :20
        ],
        "now": timezone.now(),
    }
    if not membership.can_manage:
        if request.method == "POST":
            raise PermissionDenied(services.MANAGERS_ONLY)
        return render(request, "contacts/detail.html", context)
    groups = list(_groups(membership))
    region = selectors.contact_default_region(membership.organization)
    initial = {
        "name": contact.name,
        "phone": contact.phone,
        "language": contact.language,
        "groups": [str(g.pk) for g in contact.groups.all()],
        "notes": contact.notes,
        "opted_in": contact.has_marketing_consent,
    }
    form = ContactForm(request.POST or None, initial=initial, groups=groups, default_region=region)
    context["form"] = form
    if request.method == "POST":

        def update():
            kwargs = form.service_kwargs()
            # Unchanged consent is not recorded again (the box shows what is stored).
            if kwargs["opted_in"] == contact.has_marketing_consent:
                kwargs.pop("opted_in")
            return services.contact_update(membership=membership, contact=contact, **kwargs)

        saved = _save(request, form, update, done="The contact was saved.", to="contacts")
        return saved or render(request, "contacts/form.html", context, status=400)
    return render(request, "contacts/form.html", context)


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def contact_delete(request, contact_id):
    membership = request.membership
    contact = _contact_or_404(membership, contact_id)
    if request.method == "POST":
        services.contact_delete(membership=membership, contact=contact, ip=client_ip(request))
        messages.success(request, f"{contact.name or contact.phone} was deleted.")
        return redirect("contacts")
    return render(request, "contacts/delete.html", {"contact": contact})


# --- groups ----------------------------------------------------------------------------------


@membership_required
def group_list(request):
    membership = request.membership
    form, status = ContactGroupForm(), 200
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied(services.MANAGERS_ONLY)
        form, status = ContactGroupForm(request.POST), 400
        saved = _save(
            request,
            form,
            lambda: services.contact_group_create(
                membership=membership, name=form.cleaned_data["name"]
            ),
            done=lambda group: f"The group {group.name} was added.",
            to="contact-groups",
        )
        if saved:
            return saved
    context = {"membership": membership, "groups": _groups(membership), "form": form}
    return render(request, "contacts/groups.html", context, status=status)


def _group_or_404(membership, group_id):
    return _found(selectors.contact_group_get(membership.organization, group_id), "group")


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def group_edit(request, group_id):
    membership = request.membership
    group = _group_or_404(membership, group_id)
    form, status = ContactGroupForm(initial={"name": group.name}), 200
    if request.method == "POST":
        form, status = ContactGroupForm(request.POST), 400
        saved = _save(
            request,
            form,
            lambda: services.contact_group_update(
                membership=membership, group=group, name=form.cleaned_data["name"]
            ),
            done="The group was renamed.",
            to="contact-groups",
        )
        if saved:
            return saved
    return render(
        request, "contacts/group_edit.html", {"group": group, "form": form}, status=status
    )


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def group_delete(request, group_id):
    membership = request.membership
    group = _group_or_404(membership, group_id)
    if request.method == "POST":
        services.contact_group_delete(membership=membership, group=group, ip=client_ip(request))
        messages.success(request, f"The group {group.name} was deleted; its contacts stay.")
        return redirect("contact-groups")
    count = group.contacts.count()
    return render(request, "contacts/group_delete.html", {"group": group, "count": count})


# --- settings --------------------------------------------------------------------------------


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def contact_settings(request):
    membership = request.membership
    region = selectors.contact_default_region(membership.organization)
    form, status = ContactSettingsForm(initial={"default_region": region}), 200
    if request.method == "POST":
        form, status = ContactSettingsForm(request.POST), 400
        saved = _save(
            request,
            form,
            lambda: services.contact_settings_update(
                membership=membership,
                default_region=form.cleaned_data["default_region"],
                ip=client_ip(request),
            ),
            done="The contact settings were saved.",
            to="contacts",
        )
        if saved:
            return saved
    return render(request, "contacts/settings.html", {"form": form}, status=status)


# --- import and export -----------------------------------------------------------------------


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def contact_import(request):
    """GET: the upload form. POST: reads the file and shows what importing it would do."""
    membership = request.membership
    form, status = ContactImportForm(), 200
    if request.method == "POST":
        form, status = ContactImportForm(request.POST, request.FILES), 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(settings.CONTACT_IMPORT_MAX_BYTES + 1)
            try:
                csv_io.contacts_import_preview(membership=membership, data=data)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                PendingContactImport.objects.filter(
                    organization=membership.organization,
                    created_at__lt=timezone.now() - PENDING_IMPORT_LIFETIME,
                ).delete()
                pending = PendingContactImport.objects.create(
                    organization=membership.organization,
                    created_by=request.user,
                    file_name=(upload.name or "")[:200],
                    # Checked above: UTF-8 without NUL, within the size limit.
                    content=data.decode("utf-8-sig"),
                )
                return redirect("contacts-import-preview", pending.pk)
    context = {
        "form": form,
        "default_region": selectors.contact_default_region(membership.organization),
        "region_name": dict(region_choices()).get(
            selectors.contact_default_region(membership.organization), ""
        ),
    }
    return render(request, "contacts/import.html", context, status=status)


def _pending_or_404(request, pending_id):
    try:
        pending_id = int(pending_id)
    except ValueError:
        raise Http404("No such import.") from None
    pending = PendingContactImport.objects.filter(
        pk=pending_id,
        organization=request.membership.organization,
        created_by=request.user,
        created_at__gte=timezone.now() - PENDING_IMPORT_LIFETIME,
    ).first()
    if pending is None:
        raise Http404("This import has expired or does not exist. Upload the file again.")
    return pending


@membership_required(manager=True)
@require_http_methods(["GET", "POST"])
def contact_import_preview(request, pending_id):
    """GET: what importing the uploaded file would do, row by row. POST: imports it."""
    membership = request.membership
    pending = _pending_or_404(request, pending_id)
    data = pending.content.encode()
    if request.method == "POST":
        try:
            result = csv_io.contacts_import(
                membership=membership, data=data, file_name=pending.file_name, ip=client_ip(request)
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("contacts-import")
        pending.delete()
        skipped = f", {len(result.skipped)} rows skipped" if result.skipped else ""
        messages.success(
            request,
            f"Imported {pending.file_name or 'the file'}: {result.created} contacts added, "
            f"{result.updated} updated{skipped}.",
        )
        return redirect("contacts")
    try:
        plan = csv_io.contacts_import_preview(membership=membership, data=data)
    except ServiceError as exc:  # the default country changed since, or the like
        messages.error(request, exc.message)
        return redirect("contacts-import")
    flagged = [row for row in plan.rows if row.error or row.warning]
    shown = flagged + [row for row in plan.rows if not (row.error or row.warning)][:PREVIEW_ROWS]
    shown.sort(key=lambda row: row.row)
    context = {
        "pending": pending,
        "plan": plan,
        "rows": shown,
        "hidden_rows": len(plan.rows) - len(shown),
        "skipped": len(plan.skipped),
    }
    return render(request, "contacts/import_preview.html", context)


@membership_required
def contact_export(request):
    """Every contact as CSV, in the columns the import reads back."""
    lines = csv_io.contacts_export_rows(membership=request.membership, ip=client_ip(request))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="contacts-{day}.csv"'
    return response
