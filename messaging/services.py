"""Drafting a message with the organization's own AI key and sending it from its own WhatsApp
number. Every draft and send is recorded for the organization's history and usage."""

import re

from django.db import transaction
from django.utils import timezone

from aiconfig import clients
from aiconfig.selectors import ai_config_for
from aiconfig.services import KEY_UNREADABLE_MESSAGE, ai_config_record_test
from common.errors import ServiceError
from common.http import bulkhead
from messaging.models import STATUS_RANK, MessageKind, MessageRecord, SendStatus
from organizations.models import Membership, Organization
from whatsapp import events, graph
from whatsapp.models import StatusEvent
from whatsapp.selectors import whatsapp_config_for
from whatsapp.services import TOKEN_UNREADABLE_MESSAGE

WHATSAPP_MAX_TEXT = 4096
TONES = {
    "warm": "warm and caring",
    "formal": "respectful and formal",
    "joyful": "joyful and celebratory",
    "solemn": "calm and solemn",
}
SYSTEM_PROMPT = (
    "You write WhatsApp messages that a church sends to its members. Write one short message "
    "in plain text, ready to send: no markdown (no tables, headings, bold markers or bullet "
    "symbols), no placeholders in brackets, no explanations before or after it. Keep it under "
    "800 characters unless asked for more, and never over 4000. Emojis are fine in moderation."
)
# Failures that mean the stored credentials themselves no longer work.
CREDENTIAL_FAILURES = {
    "invalid_api_key",
    "permission_denied",
    "insufficient_quota",
    "model_not_found",
}


class NotConfigured(ServiceError):
    """The organization has not connected the service this needs (answered with 409)."""

    status = 409

    def __init__(self, message: str, *, code: str = "not_configured"):
        super().__init__(message, code=code)


class UpstreamFailed(ServiceError):
    """The provider or Meta refused or failed (answered with 502)."""

    status = 502


def _user_prompt(prompt: str, language: str | None, tone: str | None) -> str:
    lines = [f"What the message is about: {prompt}"]
    if tone:
        lines.append(f"Tone: {TONES[tone]}.")
    if language:
        lines.append(f"Write it in this language (code {language}).")
    return "\n".join(lines)


def _fit_whatsapp(text: str) -> str:
    text = text.replace("\x00", "").strip()
    if len(text) <= WHATSAPP_MAX_TEXT:
        return text
    cut = text[:WHATSAPP_MAX_TEXT]
    # Cut at the last sentence or word end rather than mid-word.
    end = max(cut.rfind(". "), cut.rfind("\n"), cut.rfind(" "))
    return cut[: end if end > WHATSAPP_MAX_TEXT // 2 else WHATSAPP_MAX_TEXT].rstrip()


def message_draft(
    *, membership: Membership, prompt: str, language: str | None = None, tone: str | None = None
) -> tuple[clients.Generation, str]:
    """Drafts a message with the organization's own AI configuration. Returns the generation
    and the provider. Raises NotConfigured or UpstreamFailed."""
    organization = membership.organization
    config = ai_config_for(organization)
    if config is None:
        raise NotConfigured("Connect an AI provider in Settings before drafting messages.")
    if config.key_unreadable:
        raise NotConfigured(KEY_UNREADABLE_MESSAGE, code="key_unreadable")
    record = {"organization": organization, "user": membership.user, "kind": MessageKind.DRAFT}
    record.update(provider=config.provider, model=config.model)
    try:
        with bulkhead(organization_id=organization.pk):
            generation = clients.generate(
                provider=config.provider,
                api_key=config.api_key,
                model=config.model,
                base_url=config.base_url or None,
                prompt=_user_prompt(prompt, language, tone),
                system=SYSTEM_PROMPT,
                max_tokens=1024,
            )
    except clients.ProviderError as exc:
        MessageRecord.objects.create(**record, ok=False, error_code=exc.error_code)
        if exc.error_code in CREDENTIAL_FAILURES:
            ai_config_record_test(config=config, ok=False, error_code=exc.error_code)
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    text = _fit_whatsapp(generation.text)
    if not text:
        MessageRecord.objects.create(**record, ok=False, error_code="invalid_response")
        raise UpstreamFailed(clients.ERROR_MESSAGES["invalid_response"], code="invalid_response")
    generation.text = text
    MessageRecord.objects.create(
        **record,
        ok=True,
        input_tokens=generation.input_tokens,
        output_tokens=generation.output_tokens,
    )
    return generation, config.provider


E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def e164_digits(number: str) -> str | None:
    """ "+15551234567" (spaces, dashes and brackets allowed) -> "15551234567", else None."""
    compact = re.sub(r"[\s\-().]", "", number or "")
    return compact[1:] if E164.fullmatch(compact) else None


def message_send(*, membership: Membership, to: str, text: str) -> MessageRecord:
    """Sends a text from the organization's own number. Only what Meta accepted counts as sent.

    `to` is the recipient's digits (see e164_digits). Raises NotConfigured or UpstreamFailed."""
    organization = membership.organization
    config = whatsapp_config_for(organization)
    if config is None:
        raise NotConfigured("Connect your WhatsApp number in Settings before sending messages.")
    if config.token_unreadable:
        raise NotConfigured(TOKEN_UNREADABLE_MESSAGE, code="token_unreadable")
    record = {
        "organization": organization,
        "user": membership.user,
        "kind": MessageKind.SEND,
        "phone_number_id": config.phone_number_id,
        "to": to,
        "text": text,
    }
    try:
        with bulkhead(organization_id=organization.pk):
            message_id = graph.send_text(
                phone_number_id=config.phone_number_id,
                access_token=config.access_token,
                to=to,
                body=text,
            )
    except graph.GraphError as exc:
        MessageRecord.objects.create(
            **record, ok=False, error_code=exc.error_code, status=SendStatus.REJECTED
        )
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    sent = MessageRecord.objects.create(
        **record,
        ok=True,
        message_id=message_id,
        status=SendStatus.ACCEPTED,
        status_updated_at=timezone.now(),
    )
    # Meta may report a status before this row exists. Looked up only after the row is
    # committed: a status stored later finds the row itself (the webhook applies it).
    for event in StatusEvent.objects.filter(organization=organization, message_id=message_id):
        message_status_apply(
            organization=organization,
            message_id=message_id,
            status=event.status,
            error_code=event.error_code,
        )
    sent.refresh_from_db()
    return sent


@transaction.atomic
def message_status_apply(
    *, organization: Organization, message_id: str, status: str, error_code: int | None
) -> None:
    """A delivery status from the webhook moves the matching sent message forward."""
    if status not in STATUS_RANK:
        return
    record = (
        MessageRecord.objects.select_for_update()
        .filter(organization=organization, kind=MessageKind.SEND, message_id=message_id)
        .first()
    )
    if record is None or STATUS_RANK[status] <= STATUS_RANK.get(record.status, -1):
        return
    record.status = status
    record.status_error_code = error_code if status == SendStatus.FAILED else None
    record.status_updated_at = timezone.now()
    record.save(update_fields=["status", "status_error_code", "status_updated_at"])


def on_status_update(event: events.StatusUpdate) -> None:
    """Subscribed to the webhook's status events (MessagingConfig.ready)."""
    message_status_apply(
        organization=event.organization,
        message_id=event.message_id,
        status=event.status,
        error_code=event.error_code,
    )
