import re

from rest_framework import serializers

from common.serializer_fields import StrictCharField, StrictChoiceField
from messaging.models import MessageRecord
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
    sent_by = serializers.EmailField(source="user.email", default=None)
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

    def get_to(self, obj):
        return f"+{obj.to}" if obj.to else None
