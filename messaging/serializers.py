import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from common.serializer_fields import ComputedField, StrictCharField, StrictChoiceField
from messaging.models import MessageRecord, SendStatus
from messaging.services import TONES, WHATSAPP_MAX_TEXT, e164_digits

LANGUAGE_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class GenerateSerializer(serializers.Serializer):
    prompt = StrictCharField(min_length=1, max_length=4000)
    language = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=16)
    tone = StrictChoiceField(choices=list(TONES), required=False, allow_null=True, allow_blank=True)

    def validate_language(self, value):
        if value and not re.fullmatch(LANGUAGE_CODE, value):
            raise serializers.ValidationError('Use a language code such as "en", "es" or "pt-BR".')
        return value or None


class SendSerializer(serializers.Serializer):
    to = StrictCharField(max_length=32)
    text = StrictCharField(min_length=1, max_length=WHATSAPP_MAX_TEXT, trim_whitespace=False)

    def validate_to(self, value):
        digits = e164_digits(value)
        if digits is None:
            raise serializers.ValidationError(
                "Enter the number in international format with its country code, e.g. +15551234567."
            )
        return digits

    def validate_text(self, value):
        if not value.strip():
            raise serializers.ValidationError("Write the message first.")
        return value


class MessageRecordSerializer(serializers.ModelSerializer):
    """A sent message (or a refused send) in the history. `sent_by` is null once the user
    is deleted."""

    sent_by = serializers.EmailField(source="user.email", default=None, allow_null=True)
    to = serializers.SerializerMethodField()

    class Meta:
        model = MessageRecord
        fields = [
            "id",
            "to",
            "text",
            "status",
            "message_id",
            "error_code",
            "status_error_code",
            "sent_by",
            "created_at",
            "status_updated_at",
        ]

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "E.164 number, e.g. +15551234567."}
    )
    def get_to(self, obj):
        return f"+{obj.to}" if obj.to else None


class TokenUsageSerializer(serializers.Serializer):
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)


class DraftSerializer(serializers.Serializer):
    """A draft written by the organization's AI provider."""

    # Renders a clients.Generation; the context names the provider.

    text = serializers.CharField(help_text="The AI's draft; nothing is sent.")
    provider = ComputedField()
    model = serializers.CharField()
    usage = TokenUsageSerializer(source="*")

    @extend_schema_field(serializers.ChoiceField(choices=list(PROVIDERS)))
    def get_provider(self, generation) -> str:
        return self.context["provider"]


class SentSerializer(serializers.Serializer):
    """A message WhatsApp accepted."""

    success = ComputedField()
    message_id = serializers.CharField(help_text="The id WhatsApp gave the message (`wamid…`).")
    status = serializers.ChoiceField(choices=SendStatus.choices)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, record) -> bool:
        return True


class TokenTotalsSerializer(serializers.Serializer):
    input = serializers.IntegerField()
    output = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    """This month's drafts, sends, failures and AI tokens."""

    period_start = serializers.DateTimeField(help_text="Start of this calendar month.")
    drafts = serializers.IntegerField()
    sends = serializers.IntegerField()
    failures = serializers.IntegerField()
    tokens = TokenTotalsSerializer()
