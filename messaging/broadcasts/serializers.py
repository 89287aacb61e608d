"""Broadcasts API: what requests may carry, and one serializer per response shape."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializer_fields import StrictCharField
from messaging.broadcasts.selectors import broadcast_counts
from messaging.broadcasts.services import NAME_MAX
from messaging.contacts.serializers import IdListField
from messaging.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from messaging.serializers import TemplateChoiceField


class BroadcastInputSerializer(serializers.Serializer):
    """POST /api/broadcasts."""

    name = StrictCharField(max_length=NAME_MAX)
    group_ids = IdListField(max_items=500, required=False)
    contact_ids = IdListField(max_items=10000, required=False)
    template = TemplateChoiceField()
    scheduled_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When to start (ISO 8601 with a time zone); omitted or past: now. Starts "
        "within a minute of that time.",
    )

    def to_service_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "name": data["name"],
            "template_name": data["template"]["name"],
            "template_language": data["template"]["language"],
            "variables": data["template"].get("variables"),
            "group_ids": data.get("group_ids") or [],
            "contact_ids": data.get("contact_ids") or [],
            "scheduled_at": data.get("scheduled_at"),
        }


# --- responses ---------------------------------------------------------------------------------


class BroadcastCreatedSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=[BroadcastStatus.SCHEDULED, BroadcastStatus.QUEUED], read_only=True
    )
    recipients_total = serializers.IntegerField(
        read_only=True, help_text="Everyone chosen, including those who will be skipped."
    )

    class Meta:
        model = Broadcast
        fields = ["id", "status", "recipients_total"]


class BroadcastCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    queued = serializers.IntegerField(help_text="Still waiting (a send in flight included).")
    sent = serializers.IntegerField(help_text="Accepted by WhatsApp (delivered and read too).")
    delivered = serializers.IntegerField(help_text="Delivered (read too).")
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Not sent on purpose: see the recipients.")
    unknown = serializers.IntegerField(
        help_text="Cut off mid-send: WhatsApp may or may not have it; not sent again."
    )
    cancelled = serializers.IntegerField(help_text="Not sent because the broadcast was cancelled.")


class BroadcastSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True)
    template = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "name",
            "status",
            "pause_reason",
            "template",
            "counts",
            "created_by",
            "created_at",
            "scheduled_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(BroadcastCountsSerializer)
    def get_counts(self, obj):
        return broadcast_counts(obj)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"name": {"type": "string"}, "language": {"type": "string"}},
        }
    )
    def get_template(self, obj):
        return {"name": obj.template_name, "language": obj.template_language}


class BroadcastPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BroadcastSerializer(many=True)


class RecipientContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BroadcastRecipientSerializer(serializers.ModelSerializer):
    contact = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RecipientStatus.choices)
    error_code = serializers.CharField(help_text="Why it was skipped or failed (empty otherwise).")

    class Meta:
        model = BroadcastRecipient
        fields = ["id", "contact", "phone", "status", "error_code", "sent_at"]

    @extend_schema_field(RecipientContactSerializer(allow_null=True))
    def get_contact(self, obj):
        if obj.contact is None:
            return None
        return {"id": obj.contact.pk, "name": obj.contact.name}


class BroadcastRecipientPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BroadcastRecipientSerializer(many=True)
