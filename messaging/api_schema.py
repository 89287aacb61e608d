"""OpenAPI shapes of the messaging API responses (documentation only: the views build these
bodies themselves, see messaging/api.py)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from messaging.models import SendStatus
from messaging.serializers import MessageRecordSerializer


class TokenUsageSerializer(serializers.Serializer):
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)


class DraftSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The AI's draft; nothing is sent.")
    provider = serializers.ChoiceField(choices=list(PROVIDERS))
    model = serializers.CharField()
    usage = TokenUsageSerializer()


class SentSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message_id = serializers.CharField(help_text="The id WhatsApp gave the message (`wamid…`).")
    status = serializers.ChoiceField(choices=SendStatus.choices)


class MessageRecordResponseSerializer(MessageRecordSerializer):
    """MessageRecordSerializer as it renders: `sent_by` is null once the user is deleted."""

    sent_by = serializers.EmailField(source="user.email", default=None, allow_null=True)

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "E.164 number, e.g. +15551234567."}
    )
    def get_to(self, obj):
        return super().get_to(obj)


class MessagePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageRecordResponseSerializer(many=True)


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, description="From 1."),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, OpenApiParameter.QUERY, description="20 by default, 100 max."
    ),
]


class TokenTotalsSerializer(serializers.Serializer):
    input = serializers.IntegerField()
    output = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField(help_text="Start of this calendar month.")
    drafts = serializers.IntegerField()
    sends = serializers.IntegerField()
    failures = serializers.IntegerField()
    tokens = TokenTotalsSerializer()
