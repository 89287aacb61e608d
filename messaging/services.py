"""Drafting a message with the organization's own AI key and sending it from its own WhatsApp
number. Every draft and send is recorded for the organization's history and usage."""

import json
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aiconfig import clients
from aiconfig.resolution import Credential
from aiconfig.services import ai_generate
from common.errors import NotAllowed, ServiceError
from common.http import bulkhead
from messaging.contacts.selectors import (
    contact_for_phone,
    contact_get,
    contact_marketing_eligibility,
)
from messaging.contacts.services import contact_opt_out
from messaging.models import (
    STATUS_RANK,
    TEMPLATE_VARIABLE,
    WEBHOOK_STATUSES,
    ConsentSource,
    Contact,
    MessageKind,
    MessageRecord,
    MessageTemplate,
    SendStatus,
    TemplateSync,
    template_variables,
)
from messaging.selectors import template_named
from organizations import audit
from organizations.models import Membership, Organization
from organizations.services import audit_record
from plans.models import Purpose
from plans.services import whatsapp_usage_record_sent, whatsapp_usage_record_status
from whatsapp import events, graph
from whatsapp import health as whatsapp_health
from whatsapp.models import StatusEvent
from whatsapp.selectors import whatsapp_config_for
from whatsapp.services import TOKEN_UNREADABLE_MESSAGE

logger = logging.getLogger(__name__)

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
# Send failures about the recipient or the conversation, not about the connection.
SEND_RECIPIENT_FAILURES = {
    "recipient_not_allowed",
    "outside_window",
    "undeliverable",
    "invalid_recipient",
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
) -> tuple[clients.Generation, Credential]:
    """Drafts a message with the organization's AI keys. Returns the generation and the key
    (credential) that served it. Raises NoAICredential (409), BudgetExhausted (402) or
    UpstreamFailed (502)."""
    return _ai_write(
        membership=membership,
        prompt=_user_prompt(prompt, language, tone),
        system=SYSTEM_PROMPT,
        fit=_fit_whatsapp,
        purpose=Purpose.DRAFT,
    )


def _ai_write(
    *, membership: Membership, prompt: str, system: str, fit, purpose: str
) -> tuple[clients.Generation, Credential]:
    """One AI call through aiconfig.services.ai_generate (key choice, budget, fail-over, the
    keys' health), recorded as a draft for the history. `fit` cleans the text; an empty
    result is the provider's failure."""
    organization = membership.organization
    record = {"organization": organization, "user": membership.user, "kind": MessageKind.DRAFT}
    try:
        generation, credential = ai_generate(
            organization=organization,
            purpose=purpose,
            prompt=prompt,
            system=system,
            max_tokens=settings.AI_DRAFT_MAX_OUTPUT_TOKENS,
            user=membership.user,
        )
    except clients.ProviderError as exc:
        MessageRecord.objects.create(**record, ok=False, error_code=exc.error_code)
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    record.update(
        provider=credential.provider, model=generation.model[:200], credential=credential.name
    )
    text = fit(generation.text)
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
    return generation, credential


E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def e164_digits(number: str) -> str | None:
    """ "+15551234567" (spaces, dashes and brackets allowed) -> "15551234567", else None."""
    compact = re.sub(r"[\s\-().]", "", number or "")
    return compact[1:] if E164.fullmatch(compact) else None


class OutsideWindow(ServiceError):
    """Free text to a contact whose 24-hour window is closed (answered with 409)."""

    status = 409

    def __init__(self, contact: Contact):
        super().__init__(
            f"{contact.name or contact.phone} has not written to you in the last 24 hours, so "
            "WhatsApp only allows an approved template now. Choose a template instead of free "
            "text.",
            code="outside_window",
        )


class NotAllowedToReceive(ServiceError):
    """The contact may not receive this message (opted out, no consent…); answered 409."""

    status = 409


def message_send(
    *, membership: Membership, text: str, to: str | None = None, contact: Contact | None = None
) -> MessageRecord:
    """Sends a free-form text from the organization's own number. Only what Meta accepted
    counts as sent.

    Give `contact`, or `to` (the recipient's digits, see e164_digits). A number that belongs
    to a contact is sent as to that contact. A contact whose 24-hour window is closed is
    refused before Meta is called (OutsideWindow, 409); a number that is not a contact is
    attempted and Meta's 131047 classified. Raises NotConfigured or UpstreamFailed."""
    organization = membership.organization
    contact, to = _recipient(organization, contact=contact, to=to)
    if contact is not None and not contact.window_is_open:
        raise OutsideWindow(contact)
    config = _whatsapp_config(organization)
    record = {
        "organization": organization,
        "user": membership.user,
        "kind": MessageKind.SEND,
        "phone_number_id": config.phone_number_id,
        "to": to,
        "contact": contact,
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
        if exc.error_code not in SEND_RECIPIENT_FAILURES:
            whatsapp_health.whatsapp_health_record(
                config=config, result=whatsapp_health.classify(exc.error_code), source="send"
            )
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    # Meta accepted the message: the token works (the number's own state is kept).
    if whatsapp_health.token_problem(config):
        whatsapp_health.whatsapp_health_record(
            config=config, result=whatsapp_health.CHECK_OK, source="send"
        )
    return _record_accepted(record, message_id)


def message_send_request(
    *,
    membership: Membership,
    to: str | None = None,
    contact_id: int | None = None,
    text: str | None = None,
    template: dict | None = None,
) -> MessageRecord:
    """The API's send: free text or a template ({name, language, variables}) to a contact
    (by id) or a number. See message_send and template_message_send."""
    organization = membership.organization
    contact = None
    if contact_id is not None:
        contact = contact_get(organization, contact_id)
        if contact is None:
            raise ServiceError("No such contact.", field="contact_id", code="not_found")
    if template is None:
        return message_send(membership=membership, text=text or "", to=to, contact=contact)
    chosen = template_named(organization, template["name"], template["language"])
    if chosen is None:
        raise ServiceError(
            graph.GRAPH_ERROR_MESSAGES["template_not_found"],
            field="template",
            code="template_not_found",
        )
    return template_message_send(
        organization=organization,
        template=chosen,
        variables=template.get("variables"),
        contact=contact,
        to=to,
        user=membership.user,
    )


def _recipient(
    organization: Organization, *, contact: Contact | None, to: str | None
) -> tuple[Contact | None, str]:
    """(contact or None, digits to send to) from a contact or a number."""
    if contact is not None:
        if contact.organization_id != organization.pk:
            raise ServiceError("No such contact.", field="contact_id", code="not_found")
        return contact, contact.phone.removeprefix("+")
    if not to:
        raise ServiceError("Choose a contact or enter a number.", field="to", code="required")
    return contact_for_phone(organization, to), to


@transaction.atomic
def message_status_apply(
    *, organization: Organization, message_id: str, status: str, error_code: int | None
) -> None:
    """A delivery status from the webhook moves the matching sent message forward."""
    if status not in WEBHOOK_STATUSES:
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
    whatsapp_usage_record_status(
        organization=event.organization,
        message_id=event.message_id,
        status=event.status,
        pricing=event.pricing,
        occurred_at=event.occurred_at,
    )
    if event.status == SendStatus.FAILED and event.error_code == MARKETING_STOPPED_CODE:
        marketing_stop_record(organization=event.organization, phone=event.recipient_id)


# Meta's "the person stopped marketing messages from this business".
MARKETING_STOPPED_CODE = 131050


def marketing_stop_record(*, organization: Organization, phone: str) -> None:
    """Meta refused a marketing message because the person stopped them: honour it at once
    by opting the contact out (created if unknown, so the opt-out is kept)."""
    contact_opt_out(
        organization=organization,
        phone=phone,
        reason="The person stopped marketing messages in WhatsApp (error 131050).",
        source=ConsentSource.SEND_ERROR,
    )


# --- message templates -----------------------------------------------------------------------

TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
TEMPLATE_BODY_MAX = 1024
TEMPLATE_EXAMPLE_MAX = 200
# Meta refuses a parameter value with a new line or tab, or more than four spaces in a row.
TEMPLATE_VALUE_MAX = 1024
_BAD_VALUE = re.compile(r"[\n\r\t]| {5,}")
_NAMED_VARIABLE = re.compile(r"[a-z][a-z0-9_]{0,59}")
# Refused submissions that are about what was written (answered 400), and the field at fault.
_TEMPLATE_FIELD_OF_ERROR = {
    "template_exists": "name",
    "template_being_deleted": "name",
    "template_variable_at_edge": "body",
    "template_too_many_variables": "body",
    "template_invalid": None,
}
TEMPLATE_SYSTEM_PROMPT = (
    "You write the body of a WhatsApp message template that a church submits to Meta for "
    "approval. Answer with the body text only, in plain text: no markdown, no quotes, no "
    "explanations. Rules: at most 900 characters; variables are written {{first_name}} style "
    "(lowercase words joined by underscores) and only where the message changes per person or "
    "occasion; never start or end the text with a variable (put words before the first one and "
    "after the last one); never put two variables next to each other; no new lines inside a "
    "variable. Keep to one clear purpose: a utility message is only about the person's own "
    "registration, appointment or request; anything that announces or invites is marketing."
)


class TemplateRefused(ServiceError):
    """Meta (or our check of Meta's rules) refused a template submission."""

    def __init__(self, message: str, *, code: str, field: str | None = None, detail: str = ""):
        super().__init__(message, code=code, field=field)
        self.detail = detail


def _require_manager(membership: Membership, message: str) -> None:
    if not membership.can_manage:
        raise NotAllowed(message)


def _whatsapp_config(organization: Organization, config=None):
    if config is None or config.organization_id != organization.pk:
        config = whatsapp_config_for(organization)
    if config is None:
        raise NotConfigured("Connect your WhatsApp number in Settings first.")
    if config.token_unreadable:
        raise NotConfigured(TOKEN_UNREADABLE_MESSAGE, code="token_unreadable")
    return config


def template_sync(*, organization: Organization) -> TemplateSync:
    """Copies the organization's templates from Meta: new ones are added, changed ones
    updated, ones Meta no longer lists removed. Idempotent; concurrent runs for one
    organization take turns. A failed listing changes no template and is recorded."""
    config = _whatsapp_config(organization)
    state, _ = TemplateSync.objects.get_or_create(organization=organization)
    started = timezone.now()
    TemplateSync.objects.filter(pk=state.pk).update(started_at=started)
    try:
        remote = graph.list_message_templates(
            business_account_id=config.business_account_id, access_token=config.access_token
        )
    except graph.GraphError as exc:
        TemplateSync.objects.filter(pk=state.pk).update(
            finished_at=timezone.now(), ok=False, error_code=exc.error_code
        )
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    with transaction.atomic():
        state = TemplateSync.objects.select_for_update().get(pk=state.pk)
        now = timezone.now()
        existing = {
            (t.name, t.language): t
            for t in MessageTemplate.objects.select_for_update().filter(organization=organization)
        }
        created = updated = 0
        seen = set()
        for item in remote:
            key = (item.name, item.language)
            if key in seen:
                continue  # Meta lists each name and language once; a repeat is ignored
            seen.add(key)
            values = {
                "meta_id": item.meta_id,
                "status": item.status,
                "category": item.category,
                "components": item.components,
                "parameter_format": item.parameter_format,
                "quality_score": item.quality_score,
                "rejected_reason": "" if item.rejected_reason == "NONE" else item.rejected_reason,
            }
            template = existing.get(key)
            if template is None:
                MessageTemplate.objects.create(
                    organization=organization,
                    name=item.name,
                    language=item.language,
                    synced_at=now,
                    **values,
                )
                created += 1
                continue
            if any(getattr(template, k) != v for k, v in values.items()):
                updated += 1
            for k, v in values.items():
                setattr(template, k, v)
            template.synced_at = now
            template.save()
        gone = [t.pk for key, t in existing.items() if key not in seen]
        MessageTemplate.objects.filter(pk__in=gone).delete()
        state.finished_at, state.ok, state.error_code = now, True, ""
        state.created, state.updated, state.removed = created, updated, len(gone)
        state.save()
    return state


def template_sync_request(*, membership: Membership, ip: str | None = None) -> None:
    """Queues a sync of the organization's templates ("Sync now")."""
    from messaging import tasks  # tasks call services; the import is one way at load time

    _require_manager(membership, "Only owners and admins can sync the templates.")
    _whatsapp_config(membership.organization)
    audit_record(
        organization=membership.organization,
        actor=membership.user,
        action=audit.TEMPLATE_SYNC_REQUESTED,
        ip=ip,
    )
    tasks.sync_templates(membership.organization_id)


def template_sync_organization(*, organization_id: int) -> TemplateSync | None:
    """The task's entry point: syncs one organization if it still has usable credentials.
    Failures are recorded on its TemplateSync row (shown on the page), not raised."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    try:
        return template_sync(organization=organization)
    except ServiceError as exc:
        logger.info("Template sync of organization %s failed: %s", organization_id, exc.code)
        return None


def _check_template_text(body: str) -> list[str]:
    """Meta's rules for a template body; returns its variables. Raises TemplateRefused."""
    if not isinstance(body, str) or not body.strip():
        raise TemplateRefused("Write the message text.", code="invalid_input", field="body")
    if "\x00" in body:
        raise TemplateRefused(
            "The text contains a character that is not allowed.", code="invalid_input", field="body"
        )
    if len(body) > TEMPLATE_BODY_MAX:
        raise TemplateRefused(
            f"The text is {len(body)} characters long; WhatsApp allows at most "
            f"{TEMPLATE_BODY_MAX}.",
            code="template_text_too_long",
            field="body",
        )
    stripped = body.strip()
    if re.match(TEMPLATE_VARIABLE, stripped) or re.search(TEMPLATE_VARIABLE + r"$", stripped):
        raise TemplateRefused(
            graph.GRAPH_ERROR_MESSAGES["template_variable_at_edge"],
            code="template_variable_at_edge",
            field="body",
        )
    if re.search(r"\{\{[^}]*$|^[^{]*\}\}", stripped) or re.search(
        r"\{\{(?!\s*[a-z0-9_]+\s*\}\})", stripped
    ):
        raise TemplateRefused(
            "A variable is not written correctly. Write variables as {{1}}, {{2}}… or as "
            "{{first_name}} (lowercase letters, digits and underscores).",
            code="invalid_input",
            field="body",
        )
    variables = template_variables(body)
    numbered = [v for v in variables if v.isdigit()]
    if numbered and len(numbered) != len(variables):
        raise TemplateRefused(
            "Use either numbered variables ({{1}}, {{2}}…) or named ones ({{first_name}}), "
            "not both.",
            code="invalid_input",
            field="body",
        )
    if numbered and [int(v) for v in numbered] != list(range(1, len(numbered) + 1)):
        raise TemplateRefused(
            "Number the variables {{1}}, {{2}}, {{3}}… without gaps.",
            code="invalid_input",
            field="body",
        )
    for name in variables:
        if not name.isdigit() and not _NAMED_VARIABLE.fullmatch(name):
            raise TemplateRefused(
                f"The variable {{{{{name}}}}} must start with a letter.",
                code="invalid_input",
                field="body",
            )
    return variables


def _examples_for(variables: list[str], examples) -> list[str]:
    """Example values in the order of the variables (Meta requires one for each)."""
    if not variables:
        return []
    if isinstance(examples, dict):
        values = [examples.get(name) for name in variables]
    elif isinstance(examples, list):
        values = list(examples)
    else:
        values = []
    if len(values) != len(variables) or any(
        not isinstance(v, str) or not v.strip() for v in values
    ):
        names = ", ".join("{{" + v + "}}" for v in variables)
        raise TemplateRefused(
            f"Give one example value for each variable ({names}); Meta reviews the template "
            "with them.",
            code="invalid_input",
            field="examples",
        )
    for value in values:
        if len(value) > TEMPLATE_EXAMPLE_MAX or "\x00" in value or _BAD_VALUE.search(value):
            raise TemplateRefused(
                f"Each example must be one line of at most {TEMPLATE_EXAMPLE_MAX} characters.",
                code="invalid_input",
                field="examples",
            )
    return [v.strip() for v in values]


def template_components_build(*, body: str, examples=None) -> tuple[list, str]:
    """Meta's components and parameter_format for a template with one body text."""
    variables = _check_template_text(body)
    values = _examples_for(variables, examples)
    component: dict = {"type": "BODY", "text": body.strip()}
    named = bool(variables) and not variables[0].isdigit()
    if named:
        component["example"] = {
            "body_text_named_params": [
                {"param_name": name, "example": value}
                for name, value in zip(variables, values, strict=True)
            ]
        }
    elif variables:
        component["example"] = {"body_text": [values]}
    return [component], "NAMED" if named else "POSITIONAL"


def template_submit(
    *,
    membership: Membership,
    name: str,
    language: str,
    category: str,
    body: str | None = None,
    examples=None,
    components: list | None = None,
    parameter_format: str | None = None,
    ip: str | None = None,
) -> MessageTemplate:
    """Submits a new template to Meta for review and keeps its copy (status PENDING until
    Meta's webhook or the next sync says otherwise). Raises TemplateRefused (400),
    NotConfigured (409) or UpstreamFailed (502)."""
    _require_manager(membership, "Only owners and admins can submit templates.")
    organization = membership.organization
    category = category.upper()
    if components is None:
        if category == "AUTHENTICATION":
            raise TemplateRefused(
                "Authentication templates use Meta's fixed one-time-code wording; submit them "
                "with Meta's own components.",
                code="invalid_input",
                field="category",
            )
        components, parameter_format = template_components_build(body=body or "", examples=examples)
    else:
        texts = [
            c.get("text")
            for c in components
            if isinstance(c, dict) and str(c.get("type", "")).upper() == "BODY"
        ]
        if texts and isinstance(texts[0], str):
            _check_template_text(texts[0])
    if MessageTemplate.objects.filter(
        organization=organization, name=name, language=language
    ).exists():
        raise TemplateRefused(
            graph.GRAPH_ERROR_MESSAGES["template_exists"], code="template_exists", field="name"
        )
    config = _whatsapp_config(organization)
    try:
        submitted = graph.create_message_template(
            business_account_id=config.business_account_id,
            access_token=config.access_token,
            name=name,
            language=language,
            category=category,
            components=components,
            parameter_format=parameter_format,
        )
    except graph.GraphError as exc:
        if exc.error_code in _TEMPLATE_FIELD_OF_ERROR:
            raise TemplateRefused(
                exc.message,
                code=exc.error_code,
                field=_TEMPLATE_FIELD_OF_ERROR[exc.error_code],
                detail=exc.detail or "",
            ) from None
        raise UpstreamFailed(exc.message, code=exc.error_code) from None
    with transaction.atomic():
        template, _ = MessageTemplate.objects.update_or_create(
            organization=organization,
            name=name,
            language=language,
            defaults={
                "meta_id": submitted.meta_id,
                "status": submitted.status,
                "category": submitted.category,
                "components": components,
                "parameter_format": parameter_format or "POSITIONAL",
                "quality_score": "",
                "rejected_reason": "",
            },
        )
        audit_record(
            organization=organization,
            actor=membership.user,
            action=audit.TEMPLATE_SUBMITTED,
            target=f"{name} ({language})",
            ip=ip,
            metadata={"meta_id": submitted.meta_id, "category": submitted.category},
        )
    return template


def _fit_template_body(text: str) -> str:
    text = text.replace("\x00", "").strip().strip('"').strip()
    return text[:TEMPLATE_BODY_MAX].rstrip()


def template_body_draft(
    *, membership: Membership, prompt: str, category: str, language: str | None = None
) -> tuple[clients.Generation, Credential]:
    """Drafts a template body with the organization's AI keys, following Meta's rules.
    Returns the generation and the key (credential) that served it; budgets and fail-over
    apply as for drafts (aiconfig.services.ai_generate)."""
    lines = [f"What the template is for: {prompt}", f"Category: {category.lower()}."]
    if language:
        lines.append(f"Write it in this language (code {language}).")
    return _ai_write(
        membership=membership,
        prompt="\n".join(lines),
        system=TEMPLATE_SYSTEM_PROMPT,
        fit=_fit_template_body,
        purpose=Purpose.TEMPLATE_DRAFT,
    )


def _template_for_event(event) -> MessageTemplate | None:
    template = (
        MessageTemplate.objects.select_for_update()
        .filter(organization=event.organization, meta_id=event.meta_id)
        .first()
    ) or (
        MessageTemplate.objects.select_for_update()
        .filter(organization=event.organization, name=event.name, language=event.language)
        .first()
    )
    if template is None:
        # A template made in Meta's own tools: fetch the whole list rather than guess it.
        from messaging import tasks

        organization_id = event.organization.pk
        transaction.on_commit(lambda: tasks.sync_templates(organization_id))
    return template


@transaction.atomic
def on_template_status_changed(event: events.TemplateStatusChanged) -> None:
    template = _template_for_event(event)
    if template is None:
        return
    if event.status in ("DELETED",):
        template.delete()
        return
    # REINSTATED: a paused template approved again; Meta lists it as APPROVED.
    template.status = "APPROVED" if event.status == "REINSTATED" else event.status
    if event.status == "REJECTED":
        template.rejected_reason = "" if event.reason == "NONE" else event.reason
    elif template.status == "APPROVED":
        template.rejected_reason = ""
    template.save(update_fields=["status", "rejected_reason", "updated_at"])


@transaction.atomic
def on_template_quality_changed(event: events.TemplateQualityChanged) -> None:
    template = _template_for_event(event)
    if template is not None:
        template.quality_score = event.quality_score
        template.save(update_fields=["quality_score", "updated_at"])


@transaction.atomic
def on_template_category_changed(event: events.TemplateCategoryChanged) -> None:
    template = _template_for_event(event)
    if template is not None:
        template.category = event.category
        template.save(update_fields=["category", "updated_at"])


# --- sending a template ----------------------------------------------------------------------


class TemplateSendFailed(UpstreamFailed):
    """Meta refused a template send. Carries the recorded (refused) MessageRecord and the
    classified Graph error, whose `scope` says whom it concerns (graph.SCOPE_*)."""

    def __init__(self, error: graph.GraphError, record: MessageRecord):
        super().__init__(error.message, code=error.error_code)
        self.graph_error = error
        self.record = record


def template_values_check(template: MessageTemplate, variables) -> list[str] | dict[str, str]:
    """The values for the template's variables, checked against Meta's rules before sending:
    a list in order for positional variables, a dict by name for named ones (a list is taken
    in the order of the names). Raises ServiceError (field "variables")."""
    names = template.variables
    if variables is None:
        variables = [] if not template.is_named else {}
    if template.is_named and isinstance(variables, list) and len(variables) == len(names):
        variables = dict(zip(names, variables, strict=True))
    if template.is_named:
        if not isinstance(variables, dict) or set(variables) != set(names):
            raise ServiceError(
                "Give a value for each of the template's variables: "
                + (", ".join(names) or "none")
                + ".",
                field="variables",
                code="template_parameter_count",
            )
        ordered = [variables[name] for name in names]
    else:
        if not isinstance(variables, list) or len(variables) != len(names):
            raise ServiceError(
                f"This template has {len(names)} variable(s); give exactly "
                f"{len(names)} value(s) in order.",
                field="variables",
                code="template_parameter_count",
            )
        ordered = list(variables)
    for value in ordered:
        if not isinstance(value, str) or not value.strip():
            raise ServiceError(
                "Every variable needs a value.", field="variables", code="invalid_input"
            )
        if len(value) > TEMPLATE_VALUE_MAX or "\x00" in value or _BAD_VALUE.search(value):
            raise ServiceError(
                "Each value must be one line (no line breaks or tabs, at most four spaces in a "
                f"row) of at most {TEMPLATE_VALUE_MAX} characters.",
                field="variables",
                code="template_parameter_format",
            )
    if template.is_named:
        return {name: variables[name].strip() for name in names}
    return [value.strip() for value in ordered]


# The contact's fields a template value may use: "{{first_name}}", "{{name|friend}}".
CONTACT_FIELDS = {
    "first_name": "The contact's first name",
    "name": "The contact's full name",
    "phone": "The contact's WhatsApp number",
}
_CONTACT_FIELD = re.compile(r"\{\{\s*(first_name|name|phone)\s*(?:\|([^{}]*))?\}\}")


def _contact_field(contact: Contact, field_name: str) -> str:
    name = (contact.name or "").strip()
    if field_name == "first_name":
        return name.split()[0] if name else ""
    if field_name == "name":
        return name
    return contact.phone


def template_values_for_contact(variables, contact: Contact | None):
    """Fills the contact's fields into the values: "{{first_name}}" becomes "Maria", and
    "{{first_name|friend}}" falls back to "friend" when the contact has no name. Without a
    contact, or a field that is empty without fallback, raises ServiceError."""

    def fill(value):
        if not isinstance(value, str) or "{{" not in value:
            return value

        def field(match):
            if contact is None:
                raise ServiceError(
                    "Values such as {{first_name}} need a contact: choose one, or write the "
                    "value itself.",
                    field="variables",
                    code="contact_field_without_contact",
                )
            found = _contact_field(contact, match.group(1)) or (match.group(2) or "").strip()
            if not found:
                raise ServiceError(
                    f"{contact.phone} has no {match.group(1).replace('_', ' ')}: write the value "
                    "itself, or give a fallback such as {{first_name|friend}}.",
                    field="variables",
                    code="contact_field_empty",
                )
            return found

        return _CONTACT_FIELD.sub(field, value)

    if isinstance(variables, dict):
        return {key: fill(value) for key, value in variables.items()}
    if isinstance(variables, list):
        return [fill(value) for value in variables]
    return variables


def template_render(template: MessageTemplate, values: list[str] | dict[str, str]) -> str:
    """The body as the person will read it."""
    lookup = values if isinstance(values, dict) else {str(i): v for i, v in enumerate(values, 1)}
    return re.sub(TEMPLATE_VARIABLE, lambda m: lookup.get(m.group(1), m.group(0)), template.body)


def template_message_send(
    *,
    organization: Organization,
    template: MessageTemplate,
    variables,
    contact: Contact | None = None,
    to: str | None = None,
    user=None,
    check_consent: bool = True,
    before_call=None,
    config=None,
) -> MessageRecord:
    """Sends an approved template to one contact or number (digits, no "+") and records it.
    The one sending primitive for the composer, the API and broadcasts.

    `variables`: a list (positional) or a dict (named); a value may use the contact's fields,
    e.g. "{{first_name}}" or "{{first_name|friend}}" (see template_values_for_contact).
    With `check_consent`, a marketing template to a contact who opted out, gave no consent,
    or has a United States number is refused (NotAllowedToReceive, 409); broadcasts that
    already skipped them pass False. `before_call`, if given, is called with the outbound slot
    held, just before Meta is called (broadcasts wait for the number's send slot there).
    `config`: the organization's WhatsApp configuration when the caller has just read it (a
    broadcast reads it once a second, not once a send); it is checked the same way.

    Returns the accepted MessageRecord. Raises ServiceError (400) for values that break Meta's
    rules, NotConfigured (409), or TemplateSendFailed (502; the refused send is recorded and
    the error's `scope` says whether it concerns the recipient, the template, the number, or
    is a rate limit). Meta's 131050 opts the contact out of marketing at once."""
    if template.organization_id != organization.pk:
        raise ServiceError("No such template.", field="template", code="not_found")
    if not template.sendable:
        raise ServiceError(
            template.unsupported_reason
            or f"This template cannot be sent: {template.status_words.lower()}.",
            field="template",
            code="template_not_approved",
        )
    contact, to = _recipient(organization, contact=contact, to=to)
    if check_consent and contact is not None and template.category == "MARKETING":
        eligibility = contact_marketing_eligibility(contact)
        if not eligibility.allowed:
            raise NotAllowedToReceive(eligibility.reason, code=eligibility.code)
    values = template_values_check(template, template_values_for_contact(variables, contact))
    config = _whatsapp_config(organization, config)
    record = {
        "organization": organization,
        "user": user,
        "kind": MessageKind.SEND,
        "phone_number_id": config.phone_number_id,
        "to": to,
        "contact": contact,
        "text": template_render(template, values),
        "template_name": template.name,
        "template_language": template.language,
        "template_variables": values,
    }
    try:
        with bulkhead(organization_id=organization.pk):
            if before_call is not None:
                before_call()
            message_id = graph.send_template(
                phone_number_id=config.phone_number_id,
                access_token=config.access_token,
                to=to,
                name=template.name,
                language=template.language,
                parameters=values,
            )
    except graph.GraphError as exc:
        refused = MessageRecord.objects.create(
            **record, ok=False, error_code=exc.error_code, status=SendStatus.REJECTED
        )
        if exc.graph_code == MARKETING_STOPPED_CODE:
            marketing_stop_record(organization=organization, phone=to)
        raise TemplateSendFailed(exc, refused) from None
    return _record_accepted(record, message_id)


def _record_accepted(record: dict, message_id: str) -> MessageRecord:
    organization = record["organization"]
    sent = MessageRecord.objects.create(
        **record,
        ok=True,
        message_id=message_id,
        status=SendStatus.ACCEPTED,
        status_updated_at=timezone.now(),
    )
    whatsapp_usage_record_sent(organization=organization, message_id=message_id)
    # Meta may report a status before this row exists. Looked up only after the row is
    # committed: a status stored later finds the row itself (the webhook applies it).
    events = list(StatusEvent.objects.filter(organization=organization, message_id=message_id))
    for event in events:
        message_status_apply(
            organization=organization,
            message_id=message_id,
            status=event.status,
            error_code=event.error_code,
        )
    if events:  # the row as the statuses left it
        sent.refresh_from_db()
    return sent


TEMPLATE_FILL_SYSTEM_PROMPT = (
    "You fill in the blanks of an approved WhatsApp message template that a church sends. "
    "Answer with one JSON object only, mapping each blank's name to its text, e.g. "
    '{"1": "Maria", "2": "Sunday at 10 am"}. Each text is one short line: no line breaks, no '
    "markdown. Where the blank is the person's name, answer {{first_name}} so each person gets "
    "their own name."
)
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


def _parse_suggestions(text: str, names: list[str]) -> dict[str, str]:
    match = _JSON_OBJECT.search(text or "")
    try:
        found = json.loads(match.group(0)) if match else None
    except (ValueError, RecursionError):
        found = None
    if not isinstance(found, dict):
        return {}
    values = {}
    for name in names:
        value = found.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = " ".join(value.replace("\x00", "").split())[:TEMPLATE_EXAMPLE_MAX]
            if value:
                values[name] = value
    return values


def template_values_suggest(
    *, membership: Membership, template: MessageTemplate, prompt: str = ""
) -> dict[str, str]:
    """ "Fill with AI": suggested values for the template's blanks, by name ({} when the AI
    answered nothing usable; the person fills them in). Uses the organization's own key."""
    names = template.variables
    lines = [f"The template: {template.body}", "Its blanks: " + ", ".join(names)]
    if prompt:
        lines.append(f"What this message is about: {prompt}")
    generation, _ = _ai_write(
        membership=membership,
        prompt="\n".join(lines),
        system=TEMPLATE_FILL_SYSTEM_PROMPT,
        fit=lambda text: text.replace("\x00", "").strip(),
        purpose=Purpose.BROADCAST_FILL,
    )
    return _parse_suggestions(generation.text, names)
