from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api_schema import ErrorSerializer, field_errors
from common.credential_health import health_summary
from common.credentials import SavedMixin, StoredSettingsSerializer
from common.health_serializers import CredentialHealthSerializer
from common.serializer_fields import (
    BlankAsNullField,
    ComputedField,
    OptionalSecretField,
    StrictCharField,
    django_validator,
)
from common.validators import validate_graph_id
from whatsapp import health
from whatsapp.services import TOKEN_UNREADABLE_MESSAGE

SECRET_MAX_LENGTH = 1024


class WhatsAppConfigInputSerializer(serializers.Serializer):
    """What the test and the save accept. `access_token` omitted (or null, or "") means: use
    the stored one. `app_secret` omitted keeps the stored one; an empty string removes it."""

    phone_number_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    business_account_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    access_token = OptionalSecretField(max_length=SECRET_MAX_LENGTH, label="The access token")
    app_secret = OptionalSecretField(max_length=SECRET_MAX_LENGTH, label="The app secret")
    # Optional; with the app secret, lets us ask Meta when the access token expires. Omitted
    # or null keeps the stored one; an empty string removes it.
    app_id = StrictCharField(
        max_length=20,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[django_validator(validate_graph_id)],
    )

    def validate_access_token(self, value):
        return value or None


class WhatsAppConfigResponseSerializer(StoredSettingsSerializer):
    """The organization's WhatsApp settings, the token masked. When `configured` is false only
    the first four properties are present, all null."""

    # The context's `can_manage` says whether the webhook verify token is shown.

    summary_fields = ("phone_number_id", "business_account_id", "access_token_masked")
    omitted_when_null = ("token_message", "webhook_verify_token")
    unreadable_attr = "token_unreadable"
    unreadable_message = TOKEN_UNREADABLE_MESSAGE

    phone_number_id = serializers.CharField(allow_null=True)
    business_account_id = serializers.CharField(allow_null=True)
    access_token_masked = serializers.CharField(
        allow_null=True, help_text="The token's last characters only, e.g. `***X7Y9`."
    )
    display_phone_number = serializers.CharField(required=False)
    verified_name = serializers.CharField(required=False)
    quality_rating = BlankAsNullField(required=False)
    messaging_limit = ComputedField(
        required=False,
        help_text="People the business can reach outside their 24-hour window per moving 24 "
        "hours (250, 2000, 10000, 100000), `unlimited`, or null while Meta has not said.",
    )
    number_status = ComputedField(
        required=False,
        help_text="The number's status at Meta: `CONNECTED`, `FLAGGED`, `RESTRICTED`, `BANNED`, "
        "…; null until checked.",
    )
    token_expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the access token expires (known with the app ID and app secret); "
        "null: never, or unknown.",
    )
    app_id = ComputedField(required=False)
    health = ComputedField(required=False)
    webhook_url = serializers.URLField(
        required=False, help_text="Enter it as the callback URL in Meta's app dashboard."
    )
    app_secret_set = serializers.BooleanField(source="has_app_secret", required=False)
    last_verified_at = serializers.DateTimeField(required=False, allow_null=True)
    token_status = ComputedField(
        "get_secret_status",
        required=False,
        help_text="`unreadable`: the encryption key changed; enter the access token again.",
    )
    token_message = ComputedField(
        "get_secret_message", required=False, help_text="Present when unreadable."
    )
    webhook_verify_token = ComputedField(
        required=False, help_text="Owners and admins only: Meta's webhook verify token."
    )

    @extend_schema_field(
        serializers.JSONField(required=False, help_text="An integer, `unlimited`, or null.")
    )
    def get_messaging_limit(self, config) -> int | str | None:
        return "unlimited" if config.messaging_limit_unlimited else config.messaging_limit

    @extend_schema_field(serializers.CharField(required=False, allow_null=True))
    def get_number_status(self, config) -> str | None:
        return config.number_status or None

    @extend_schema_field(serializers.CharField(required=False, allow_null=True))
    def get_app_id(self, config) -> str | None:
        return config.app_id or None

    @extend_schema_field(CredentialHealthSerializer(required=False))
    def get_health(self, config) -> dict:
        return CredentialHealthSerializer(health_summary(config, health.advice)).data

    @extend_schema_field(serializers.CharField(required=False))
    def get_webhook_verify_token(self, config) -> str | None:
        return config.webhook_verify_token if self.context.get("can_manage") else None


class WhatsAppConfigSavedSerializer(SavedMixin, WhatsAppConfigResponseSerializer):
    """The WhatsApp settings just saved."""


class WhatsAppFailureSerializer(ErrorSerializer):
    """An input error, or Meta refused the credentials (then `success: false`, `error_code`
    classifying the refusal and `fields` naming the input at fault, if any)."""

    def extra_fields(self):
        return {"success": serializers.BooleanField(required=False)}


class WhatsAppTestPassedSerializer(serializers.Serializer):
    """Meta accepted the credentials: the number's details."""

    success = ComputedField()
    display_phone_number = serializers.CharField()
    verified_name = serializers.CharField()
    quality_rating = serializers.CharField(allow_null=True)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, info) -> bool:
        return True


class WhatsAppTestFailedSerializer(serializers.Serializer):
    """Meta refused the credentials."""

    def get_fields(self):
        return {
            "success": ComputedField(),
            "error": serializers.CharField(source="message"),
            "error_code": serializers.CharField(
                source="code",
                help_text="`invalid_token`, `phone_not_found`, `phone_not_in_account`, "
                "`timeout`, `unreachable`, …",
            ),
            "fields": ComputedField(method_name="get_field_errors", required=False),
        }

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, refusal) -> bool:
        return False

    @extend_schema_field(field_errors())
    def get_field_errors(self, refusal) -> dict | None:
        return {refusal.field: [refusal.message]} if refusal.field else None

    def to_representation(self, refusal):
        data = super().to_representation(refusal)
        if data["fields"] is None:
            del data["fields"]
        return data
