"""OpenAPI shapes of the WhatsApp settings API responses (documentation only: the views build
these bodies themselves, see whatsapp/api.py)."""

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
)
from rest_framework import serializers

from common.api_schema import field_errors


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
