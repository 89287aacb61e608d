"""The composer page: draft with AI, edit, send via WhatsApp, see what was sent."""

from functools import partial

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from aiconfig.providers import provider_label
from aiconfig.selectors import ai_config_for
from common.throttles import message_wait, too_many_message
from messaging import services as message_services
from messaging.contacts.selectors import (
    contact_get,
    contact_group_get,
    contact_groups_for,
    contacts_for,
    contacts_in_groups,
)
from messaging.forms import DraftForm, SendForm, TemplateSubmitForm, TemplateValuesForm
from messaging.models import MessageTemplate, template_variables
from messaging.selectors import (
    monthly_usage,
    sent_messages,
    template_get,
    template_sync_state,
    templates_for,
)
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from whatsapp import graph
from whatsapp.selectors import whatsapp_config_for


def _attempt(membership, form, action):
    """Runs a draft or a send for a valid form: (result or None, HTTP status)."""
    if not form.is_valid():
        return None, 400
    wait = message_wait(user_id=membership.user_id)
    if wait:
        form.add_error(None, too_many_message(wait))
        return None, 429
    try:
        return action(membership=membership, **form.cleaned_data), 200
    except message_services.ServiceError as exc:
        apply_service_error(form, exc)
        # Not configured is the church's to fix (400), a used-up budget is 402; the provider
        # or Meta failing is 502; too many calls in flight (busy) is 429.
        if exc.status in (402, 429):
            return None, exc.status
        return None, 400 if exc.status == 409 else 502


CREDENTIAL_WORDS = {
    "primary": "your main key",
    "backup": "your backup key (the main key did not answer)",
    "platform": "the platform's key",
}


def _broadcasts_url() -> str:
    """The broadcasts page, once this server has one."""
    try:
        return reverse("broadcasts")
    except NoReverseMatch:
        return ""


def _chosen_template(organization, template_id) -> MessageTemplate | None:
    template = template_get(organization, template_id)
    return template if template is not None and template.sendable else None


def _recipient(request, membership) -> dict:
    """Who the composer writes to: a contact, a group, or (neither) a number typed in."""
    organization = membership.organization
    source = request.POST if request.method == "POST" else request.GET
    contact = contact_get(organization, source.get("contact")) if source.get("contact") else None
    group = None
    if contact is None and source.get("group"):
        group = contact_group_get(organization, source.get("group"))
    q = (request.GET.get("q") or "").strip()[:100]
    template_mode = contact is not None and (
        not contact.window_is_open or source.get("mode") == "template"
    )
    templates = [t for t in templates_for(organization) if t.sendable] if template_mode else []
    chosen = _chosen_template(organization, source.get("template")) if template_mode else None
    return {
        "contact": contact,
        "group": group,
        "group_size": contacts_in_groups(organization, [group.pk]).count() if group else 0,
        "broadcasts_url": _broadcasts_url() if group else "",
        "q": q,
        "matches": list(contacts_for(organization, search=q)[:20]) if q else [],
        "groups": list(contact_groups_for(organization)) if not (contact or group) else [],
        "mode": "group" if group else ("template" if template_mode else "text"),
        "templates": templates,
        "template": chosen or (templates[0] if templates else None),
    }


def _template_action(request, membership, recipient, action) -> dict:
    """Fill with AI or send a template: the page's changes (values form, notice, status),
    or a redirect after a send."""
    template = recipient["template"]
    if template is None:
        return {"status": 400}
    form = TemplateValuesForm(request.POST, template=template)
    if not form.is_valid():
        return {"values_form": form, "status": 400}
    wait = message_wait(user_id=membership.user_id)
    if wait:
        form.add_error(None, too_many_message(wait))
        return {"values_form": form, "status": 429}
    try:
        if action == "fill":
            return _template_fill(membership, template, form)
        message_services.template_message_send(
            organization=membership.organization,
            template=template,
            variables=form.values(),
            contact=recipient["contact"],
            user=membership.user,
        )
    except message_services.ServiceError as exc:
        apply_service_error(form, exc)
        return {"values_form": form, "status": _page_status(exc)}
    messages.success(request, "Template sent. Its delivery status shows below.")
    return {"redirect": redirect("messages")}


def _template_fill(membership, template, form) -> dict:
    suggested = message_services.template_values_suggest(membership=membership, template=template)
    data = form.data.copy()
    for name, value in suggested.items():
        data[f"var_{name}"] = value
    notice = (
        "The AI suggested values: check them before sending."
        if suggested
        else "The AI did not suggest anything usable: fill the blanks in yourself."
    )
    return {"values_form": TemplateValuesForm(data, template=template), "fill_notice": notice}


def _page_status(exc) -> int:
    """A refusal on a page: the church's to fix (400), a budget used up (402), too busy (429),
    Meta or the AI provider failing (502)."""
    if exc.status in (402, 429):
        return exc.status
    return 400 if exc.status in (400, 403, 404, 409) else 502


def _free_text_action(request, membership, recipient, action) -> dict:
    """Draft with AI or send free text: the page's changes, or a redirect after a send."""
    contact = recipient["contact"]
    to = request.POST.get("to", "")
    if action == "draft":
        draft_form = DraftForm(request.POST)
        drafted, status = _attempt(membership, draft_form, message_services.message_draft)
        changes = {"draft_form": draft_form, "status": status}
        if drafted:
            generation, credential = drafted
            changes["send_form"] = SendForm(
                initial={"text": generation.text, "to": to}, contact=contact
            )
            changes["draft_notice"] = (
                f"Drafted by {provider_label(credential.provider)} ({generation.model}) "
                f"with {CREDENTIAL_WORDS[credential.name]}. Edit it before sending."
            )
        else:
            changes["send_form"] = SendForm(initial={"to": to}, contact=contact)
        return changes
    # Unbound: the prompt only rides along, it is not checked when sending.
    draft_form = DraftForm(
        initial={k: request.POST.get(k, "") for k in ("prompt", "tone", "language")}
    )
    send_form = SendForm(request.POST, contact=contact)
    send = partial(message_services.message_send, contact=contact)
    sent, status = _attempt(membership, send_form, send)
    if sent:
        messages.success(request, "Message sent. Its delivery status shows below.")
        return {"redirect": redirect("messages")}
    return {"draft_form": draft_form, "send_form": send_form, "status": status}


@membership_required
def composer(request):
    """GET shows the composer (?contact=, ?group=, ?q= choose who to write to); POST
    action=draft drafts with AI, send sends free text, fill and send_template a template."""
    membership = request.membership
    recipient = _recipient(request, membership)
    page = {
        "draft_form": DraftForm(),
        "send_form": SendForm(contact=recipient["contact"]),
        "status": 200,
    }
    if recipient["template"] is not None:
        page["values_form"] = TemplateValuesForm(template=recipient["template"])
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("draft", "send"):
        page.update(_free_text_action(request, membership, recipient, action))
    elif action in ("fill", "send_template"):
        page.update(_template_action(request, membership, recipient, action))
    elif request.method == "POST":
        page["status"] = 400  # neither button: nothing to do
    if "redirect" in page:
        return page["redirect"]
    organization = membership.organization
    context = {
        **page,
        "membership": membership,
        "recipient": recipient,
        "ai_config": ai_config_for(organization),
        "whatsapp_config": whatsapp_config_for(organization),
        "history": sent_messages(organization)[:20],
        "usage": monthly_usage(organization),
    }
    return render(request, "messages/composer.html", context, status=page["status"])


# --- templates page ------------------------------------------------------------------------------


def _found_variables(body: str) -> list[str]:
    return template_variables(body or "")


def _template_sync_now(request, membership):
    try:
        message_services.template_sync_request(membership=membership, ip=client_ip(request))
    except message_services.ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("message-templates")
    messages.success(
        request, "Sync started: the list below is refreshed from Meta in a moment (reload)."
    )
    return redirect("message-templates")


def _template_draft(membership, form):
    """Draft with AI: (form with the drafted text, notice, status)."""
    if not form.is_valid():
        return form, None, 400
    prompt = form.cleaned_data["prompt"].strip()
    if not prompt:
        form.add_error("prompt", "Say what the template is for, then press Draft with AI.")
        return form, None, 400
    wait = message_wait(user_id=membership.user_id)
    if wait:
        form.add_error(None, too_many_message(wait))
        return form, None, 429
    try:
        generation, credential = message_services.template_body_draft(
            membership=membership,
            prompt=prompt,
            category=form.cleaned_data["category"],
            language=form.cleaned_data["language"],
        )
    except message_services.ServiceError as exc:
        apply_service_error(form, exc)
        return form, None, _page_status(exc)
    data = form.data.copy()
    data["body"] = generation.text
    notice = (
        f"Drafted by {provider_label(credential.provider)} ({generation.model}) with "
        f"{CREDENTIAL_WORDS[credential.name]}. Check it, give examples for the blanks, then "
        "submit it."
    )
    return TemplateSubmitForm(data), notice, 200


def _template_submit(request, membership, form):
    """Submit to Meta: (form, Meta's reason, status) or a redirect after success."""
    if not form.is_valid():
        return form, "", 400
    try:
        template = message_services.template_submit(
            membership=membership,
            name=form.cleaned_data["name"],
            language=form.cleaned_data["language"],
            category=form.cleaned_data["category"],
            body=form.cleaned_data["body"],
            examples=form.example_list(),
            ip=client_ip(request),
        )
    except message_services.TemplateRefused as exc:
        apply_service_error(form, exc)
        return form, exc.detail, 400
    except message_services.ServiceError as exc:
        apply_service_error(form, exc)
        return form, "", 400 if exc.status in (400, 409) else 502
    messages.success(
        request,
        f"{template.name} was submitted to Meta and waits for review. Its status here changes "
        "by itself when Meta decides.",
    )
    return redirect("message-templates")


def _template_check(form):
    if form.is_valid():
        try:
            message_services.template_components_build(
                body=form.cleaned_data["body"], examples=form.example_list()
            )
        except message_services.ServiceError as exc:
            apply_service_error(form, exc)
            return form, 400
    return form, 200 if form.is_valid() else 400


@membership_required
def templates_page(request):
    """The organization's templates: list, Sync now, submit a new one (with AI's help)."""
    membership = request.membership
    form, status, notice, meta_reason = TemplateSubmitForm(), 200, None, ""
    action = request.POST.get("action") if request.method == "POST" else None
    if request.method == "POST" and not membership.can_manage:
        messages.error(request, "Only owners and admins can sync or submit templates.")
        return redirect("message-templates")
    if action == "sync":
        return _template_sync_now(request, membership)
    if action in ("check", "draft", "submit"):
        form = TemplateSubmitForm(request.POST)
        if action == "check":
            form, status = _template_check(form)
        elif action == "draft":
            form, notice, status = _template_draft(membership, form)
        else:
            submitted = _template_submit(request, membership, form)
            if not isinstance(submitted, tuple):
                return submitted
            form, meta_reason, status = submitted
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "messages/templates.html",
        _templates_context(membership, form, notice, meta_reason),
        status=status,
    )


def _templates_context(membership, form, notice, meta_reason) -> dict:
    organization = membership.organization
    sync_state = template_sync_state(organization)
    sync_error = ""
    if sync_state and sync_state.ok is False:
        sync_error = graph.GRAPH_ERROR_MESSAGES.get(sync_state.error_code, sync_state.error_code)
    return {
        "membership": membership,
        "templates": templates_for(organization),
        "sync_state": sync_state,
        "sync_error": sync_error,
        "template_form": form,
        "found_variables": _found_variables(form.data.get("body", "")) if form.is_bound else [],
        "draft_notice": notice,
        "meta_reason": meta_reason,
        "ai_config": ai_config_for(organization),
        "whatsapp_config": whatsapp_config_for(organization),
    }
