"""OpenAPI shapes of the WhatsApp settings and messaging API responses (documentation only:
the views build these bodies themselves, see whatsapp/api.py and whatsapp/message_api.py)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema_field,
)
from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from common.api_schema import field_errors
from whatsapp.message_serializers import MessageRecordSerializer
from whatsapp.models import SendStatus


class WhatsAppConfigResponseSerializer(serializers.Serializer):
    """The organization's WhatsApp settings, the token masked. When `configured` is false only
    the first four properties are present, all null."""

    configured = serializers.BooleanField()
    phone_number_id = serializers.CharField(allow_null=True)
    business_account_id = serializers.CharField(allow_null=True)
    access_token_masked = serializers.CharField(
        allow_null=True, help_text="The token's last characters only, e.g. `***X7Y9`."
    )
    display_phone_number = serializers.CharField(required=False)
    verified_name = serializers.CharField(required=False)
    quality_rating = serializers.CharField(required=False, allow_null=True)
    webhook_url = serializers.URLField(
        required=False, help_text="Enter it as the callback URL in Meta's app dashboard."
    )
    app_secret_set = serializers.BooleanField(required=False)
    last_verified_at = serializers.DateTimeField(required=False, allow_null=True)
    token_status = serializers.ChoiceField(
        choices=["ok", "unreadable"],
        required=False,
        help_text="`unreadable`: the encryption key changed; enter the access token again.",
    )
    token_message = serializers.CharField(required=False, help_text="Present when unreadable.")
    webhook_verify_token = serializers.CharField(
        required=False, help_text="Owners and admins only: Meta's webhook verify token."
    )


class WhatsAppConfigSavedSerializer(WhatsAppConfigResponseSerializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class WhatsAppFailureSerializer(serializers.Serializer):
    """An input error, or Meta refused the credentials (then `success: false`, `error_code`
    classifying the refusal and `fields` naming the input at fault, if any)."""

    def get_fields(self):
        return {
            "success": serializers.BooleanField(required=False),
            "error": serializers.CharField(),
            "error_code": serializers.CharField(required=False, allow_null=True),
            "fields": field_errors(),
        }


class WhatsAppTestPassedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    display_phone_number = serializers.CharField()
    verified_name = serializers.CharField()
    quality_rating = serializers.CharField(allow_null=True)


class WhatsAppTestFailedSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            "success": serializers.BooleanField(),
            "error": serializers.CharField(),
            "error_code": serializers.CharField(
                help_text="`invalid_token`, `phone_not_found`, `phone_not_in_account`, "
                "`timeout`, `unreachable`, …"
            ),
            "fields": field_errors(),
        }


WHATSAPP_TEST_RESULT = PolymorphicProxySerializer(
    component_name="WhatsAppTestResult",
    serializers=[WhatsAppTestPassedSerializer, WhatsAppTestFailedSerializer],
    resource_type_field_name=None,
)


# --- messages -----------------------------------------------------------------------------


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
