"""The composer page: draft with AI, edit, send via WhatsApp, see what was sent."""

from django.contrib import messages
from django.shortcuts import redirect, render

from aiconfig.selectors import ai_config_for
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from whatsapp import message_services
from whatsapp.message_forms import DraftForm, SendForm
from whatsapp.message_selectors import monthly_usage, sent_messages
from whatsapp.selectors import whatsapp_config_for


@membership_required
def composer(request):
    """GET shows the composer; POST action=draft drafts with AI, action=send sends."""
    membership = request.membership
    draft_form, send_form, status = DraftForm(), SendForm(), 200
    draft_notice = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "draft":
            draft_form = DraftForm(request.POST)
            send_form = SendForm(initial={"to": request.POST.get("to", "")})
            if draft_form.is_valid():
                try:
                    generation, provider = message_services.message_draft(
                        membership=membership, **draft_form.cleaned_data
                    )
                except message_services.ServiceError as exc:
                    apply_service_error(draft_form, exc)
                    status = 400 if exc.status == 409 else 502
                else:
                    send_form = SendForm(
                        initial={"text": generation.text, "to": request.POST.get("to", "")}
                    )
                    draft_notice = (
                        f"Drafted by {provider} ({generation.model}). Edit it before sending."
                    )
            else:
                status = 400
        elif action == "send":
            # Unbound: the prompt only rides along, it is not checked when sending.
            draft_form = DraftForm(
                initial={k: request.POST.get(k, "") for k in ("prompt", "tone", "language")}
            )
            send_form = SendForm(request.POST)
            if send_form.is_valid():
                try:
                    message_services.message_send(membership=membership, **send_form.cleaned_data)
                except message_services.ServiceError as exc:
                    apply_service_error(send_form, exc)
                    status = 400 if exc.status == 409 else 502
                else:
                    messages.success(request, "Message sent. Its delivery status shows below.")
                    return redirect("messages")
            else:
                status = 400
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
