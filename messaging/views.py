"""The composer page: draft with AI, edit, send via WhatsApp, see what was sent."""

from django.contrib import messages
from django.shortcuts import redirect, render

from aiconfig.providers import provider_label
from aiconfig.selectors import ai_config_for
from common.throttles import message_wait, too_many_message
from messaging import services as message_services
from messaging.forms import DraftForm, SendForm
from messaging.selectors import monthly_usage, sent_messages
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
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


@membership_required
def composer(request):
    """GET shows the composer; POST action=draft drafts with AI, action=send sends."""
    membership = request.membership
    draft_form, send_form, status = DraftForm(), SendForm(), 200
    draft_notice = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "draft":
        draft_form = DraftForm(request.POST)
        send_form = SendForm(initial={"to": request.POST.get("to", "")})
        drafted, status = _attempt(membership, draft_form, message_services.message_draft)
        if drafted:
            generation, credential = drafted
            send_form = SendForm(
                initial={"text": generation.text, "to": request.POST.get("to", "")}
            )
            draft_notice = (
                f"Drafted by {provider_label(credential.provider)} ({generation.model}) "
                f"with {CREDENTIAL_WORDS[credential.name]}. Edit it before sending."
            )
    elif action == "send":
        # Unbound: the prompt only rides along, it is not checked when sending.
        draft_form = DraftForm(
            initial={k: request.POST.get(k, "") for k in ("prompt", "tone", "language")}
        )
        send_form = SendForm(request.POST)
        sent, status = _attempt(membership, send_form, message_services.message_send)
        if sent:
            messages.success(request, "Message sent. Its delivery status shows below.")
            return redirect("messages")
    elif request.method == "POST":
        status = 400  # neither button: nothing to do
    ai_config = ai_config_for(membership.organization)
    whatsapp_config = whatsapp_config_for(membership.organization)
    context = {
        "membership": membership,
        "draft_form": draft_form,
        "send_form": send_form,
        "draft_notice": draft_notice,
        "ai_config": ai_config,
        "whatsapp_config": whatsapp_config,
        "history": sent_messages(membership.organization)[:20],
        "usage": monthly_usage(membership.organization),
    }
    return render(request, "messages/composer.html", context, status=status)
