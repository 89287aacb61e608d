from django.contrib import admin

from aiconfig.providers import provider_label
from common.admin import ReadOnlyAdmin
from messaging.models import (
    Broadcast,
    BroadcastRecipient,
    ConsentRecord,
    Contact,
    ContactGroup,
    MessageKind,
    MessageRecord,
    SendStatus,
)


@admin.register(MessageRecord)
class MessageRecordAdmin(ReadOnlyAdmin):
    """Read-only: the record of what was drafted and sent is history, not something to edit."""

    list_display = ["created_at", "organization", "kind", "outcome", "recipient", "user"]
    list_filter = ["kind", "ok", "status"]
    list_select_related = ["organization", "user"]
    search_fields = ["organization__name", "organization__slug", "to", "message_id"]
    date_hierarchy = "created_at"
    fields = [
        "organization",
        "user",
        "created_at",
        "kind",
        "outcome",
        "provider_label",
        "model",
        "input_tokens",
        "output_tokens",
        "phone_number_id",
        "recipient",
        "text",
        "message_id",
        "status_updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Outcome")
    def outcome(self, obj: MessageRecord) -> str:
        if obj.kind == MessageKind.DRAFT:
            return "Drafted" if obj.ok else f"Failed ({obj.error_code or 'error'})"
        label = obj.get_status_display() or ("Sent" if obj.ok else "Not sent")
        code = obj.error_code or obj.status_error_code
        if code and obj.status in (SendStatus.FAILED, SendStatus.REJECTED):
            return f"{label} ({code})"
        return label

    @admin.display(description="To")
    def recipient(self, obj: MessageRecord) -> str:
        return f"+{obj.to}" if obj.to else "—"

    @admin.display(description="AI provider")
    def provider_label(self, obj: MessageRecord) -> str:
        return provider_label(obj.provider) if obj.provider else "—"


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["phone", "name", "organization", "consent", "last_inbound_at"]
    list_filter = ["opt_in_source", "opt_out_source"]
    list_select_related = ["organization"]
    search_fields = ["phone", "name", "organization__name", "organization__slug"]
    fields = [
        "organization",
        "name",
        "phone",
        "language",
        "groups",
        "notes",
        "opted_in_at",
        "opt_in_source",
        "opted_out_at",
        "opt_out_reason",
        "opt_out_source",
        "last_inbound_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Messages")
    def consent(self, obj: Contact) -> str:
        if obj.opted_out_at:
            return f"Opted out ({obj.get_opt_out_source_display() or 'unknown'})"
        if obj.opted_in_at:
            return f"Agreed ({obj.get_opt_in_source_display()})"
        return "Has not agreed"


@admin.register(ContactGroup)
class ContactGroupAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name", "organization__slug"]
    fields = ["organization", "name", "created_at"]
    readonly_fields = fields


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "phone", "organization", "action", "source", "detail", "actor"]
    list_filter = ["action", "source"]
    list_select_related = ["organization", "actor"]
    search_fields = ["phone", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    fields = [
        "organization",
        "contact",
        "phone",
        "action",
        "source",
        "detail",
        "actor",
        "created_at",
    ]
    readonly_fields = fields


class BroadcastRecipientInline(admin.TabularInline):
    model = BroadcastRecipient
    fields = ["phone", "status", "error_code", "sent_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    """Read-only: broadcasts are made, cancelled and resumed through the pages and the API,
    whose services keep Meta's rules."""

    list_display = ["name", "organization", "status", "recipients_total", "created_at"]
    list_filter = ["status"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name", "organization__slug"]
    date_hierarchy = "created_at"
    inlines = [BroadcastRecipientInline]
    fields = [
        "organization",
        "name",
        "template_name",
        "template_language",
        "template_category",
        "status",
        "pause_reason",
        "resume_at",
        "scheduled_at",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "recipients_total",
    ]
    readonly_fields = fields
