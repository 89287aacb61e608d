from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from messaging.models import MessageKind, MessageRecord, MessageTemplate, SendStatus, TemplateSync
from organizations.models import Organization
from whatsapp.models import WhatsAppConfig


def sent_messages(organization: Organization) -> QuerySet[MessageRecord]:
    """The organization's send attempts, newest first (refused ones included, marked so)."""
    return MessageRecord.objects.filter(
        organization=organization, kind=MessageKind.SEND
    ).select_related("user")


def month_start(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def monthly_usage(organization: Organization, now: datetime | None = None) -> dict:
    """This month's drafts, sends, failures and tokens, in one query."""
    start = month_start(now)
    totals = MessageRecord.objects.filter(
        organization=organization, created_at__gte=start
    ).aggregate(
        drafts=Count("id", filter=Q(kind=MessageKind.DRAFT)),
        sends=Count("id", filter=Q(kind=MessageKind.SEND, ok=True)),
        failures=Count(
            "id",
            filter=Q(ok=False) | Q(kind=MessageKind.SEND, status=SendStatus.FAILED),
        ),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
    )
    return {
        "period_start": start,
        "drafts": totals["drafts"],
        "sends": totals["sends"],
        "failures": totals["failures"],
        "tokens": {
            "input": totals["input_tokens"] or 0,
            "output": totals["output_tokens"] or 0,
        },
    }


def organizations_with_whatsapp() -> list[int]:
    """Ids of the organizations whose WhatsApp number is connected."""
    return list(
        WhatsAppConfig.objects.order_by("organization_id").values_list("organization_id", flat=True)
    )


def templates_for(organization: Organization) -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.filter(organization=organization)


def template_named(organization: Organization, name: str, language: str):
    """The organization's template of that name and language, or None."""
    return MessageTemplate.objects.filter(
        organization=organization, name=name, language=language
    ).first()


def template_sync_state(organization: Organization) -> TemplateSync | None:
    return TemplateSync.objects.filter(organization=organization).first()


def template_get(organization: Organization, template_id) -> MessageTemplate | None:
    """The organization's template with this id, else None (another organization's id too)."""
    try:
        template_id = int(template_id)
    except (TypeError, ValueError):
        return None
    return MessageTemplate.objects.filter(organization=organization, pk=template_id).first()
