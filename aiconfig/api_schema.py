"""OpenAPI shapes of the AI settings API responses (documentation only: the views build these
bodies themselves, see aiconfig/api.py)."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from common.api_schema import field_errors

PROVIDER_CHOICES = list(PROVIDERS)


class AIConfigResponseSerializer(serializers.Serializer):
    """The organization's AI settings, the key masked. When `configured` is false only the
    first five properties are present, all null."""

    configured = serializers.BooleanField()
    provider = serializers.ChoiceField(choices=PROVIDER_CHOICES, allow_null=True)
    api_key_masked = serializers.CharField(
        allow_null=True, help_text="The key's last characters only, e.g. `***X7Y9`."
    )
    model = serializers.CharField(allow_null=True)
    base_url = serializers.CharField(allow_null=True, help_text="Custom provider only.")
    last_tested_at = serializers.DateTimeField(required=False, allow_null=True)
    last_test_ok = serializers.BooleanField(required=False, allow_null=True)
    last_error_code = serializers.CharField(required=False, allow_null=True)
    models = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Models the provider offers this key (when it lists them).",
    )
    updated_at = serializers.DateTimeField(required=False)
    key_status = serializers.ChoiceField(
        choices=["ok", "unreadable"],
        required=False,
        help_text="`unreadable`: the encryption key changed; enter the API key again.",
    )
    key_message = serializers.CharField(required=False, help_text="Present when unreadable.")


class AIConfigSavedSerializer(AIConfigResponseSerializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class AIKeyFailureSerializer(serializers.Serializer):
    """An input error (`{error, error_code, fields}`), or the provider refused the key: then
    also `success: false` and `provider`, `error_code` classifying the refusal
    (`invalid_api_key`, `insufficient_quota`, `model_not_found`, `rate_limited`, …)."""

    def get_fields(self):
        return {
            "success": serializers.BooleanField(required=False),
            "provider": serializers.ChoiceField(choices=PROVIDER_CHOICES, required=False),
            "error": serializers.CharField(),
            "error_code": serializers.CharField(required=False, allow_null=True),
            "fields": field_errors(),
        }


class AIKeyTestPassedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    provider = serializers.ChoiceField(choices=PROVIDER_CHOICES)
    message = serializers.CharField()
    response = serializers.CharField(allow_null=True, help_text="The model's short answer.")
    models = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()


class AIKeyTestFailedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    provider = serializers.ChoiceField(choices=PROVIDER_CHOICES)
    error = serializers.CharField(help_text="What went wrong and what to do, for the person.")
    error_code = serializers.CharField(
        allow_null=True,
        help_text="`invalid_api_key`, `permission_denied`, `insufficient_quota`, "
        "`rate_limited`, `model_not_found`, `timeout`, `unreachable`, `blocked_address`, …",
    )
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()


AI_KEY_TEST_RESULT = PolymorphicProxySerializer(
    component_name="AIKeyTestResult",
    serializers=[AIKeyTestPassedSerializer, AIKeyTestFailedSerializer],
    resource_type_field_name=None,
)
