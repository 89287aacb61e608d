from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiconfig import health
from aiconfig.providers import PROVIDERS, base_url_problem
from aiconfig.services import KEY_UNREADABLE_MESSAGE
from common.api_schema import ErrorSerializer
from common.credential_health import health_summary
from common.credentials import SavedMixin, StoredSettingsSerializer
from common.health_serializers import CredentialHealthSerializer
from common.serializer_fields import (
    BlankAsNullField,
    ComputedField,
    OptionalSecretField,
    StrictCharField,
    StrictChoiceField,
    django_validator,
)
from common.validators import clean_model_ids, validate_base_url, validate_model_name

API_KEY_MAX_LENGTH = 512
PROVIDER_CHOICES = list(PROVIDERS)


class AIConfigInputSerializer(serializers.Serializer):
    """What the test and the save accept. `api_key` omitted means: use the stored key (for
    the same provider and, for a custom server, the same base URL only)."""

    provider = StrictChoiceField(choices=PROVIDER_CHOICES)
    api_key = OptionalSecretField(max_length=API_KEY_MAX_LENGTH, label="The API key")
    model = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        validators=[django_validator(validate_model_name)],
    )
    base_url = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=500,
        validators=[django_validator(validate_base_url)],
    )

    def validate(self, attrs):
        problem = base_url_problem(attrs["provider"], attrs.get("base_url"))
        if problem:
            raise serializers.ValidationError({"base_url": [problem]})
        return attrs


class ModelIdsField(serializers.ListField):
    """A stored model list, cleaned again on the way out: one stored before provider answers
    were cleaned may hold an id no JSON can carry (a lone surrogate), which would be a 500."""

    child = serializers.CharField()

    def to_representation(self, data):
        return super().to_representation(clean_model_ids(data if isinstance(data, list) else []))


class AIConfigResponseSerializer(StoredSettingsSerializer):
    """The organization's AI settings, the key masked. When `configured` is false only the
    first five properties are present, all null."""

    summary_fields = ("provider", "api_key_masked", "model", "base_url")
    omitted_when_null = ("key_message",)
    unreadable_attr = "key_unreadable"
    unreadable_message = KEY_UNREADABLE_MESSAGE

    provider = serializers.ChoiceField(choices=PROVIDER_CHOICES, allow_null=True)
    api_key_masked = serializers.CharField(
        allow_null=True, help_text="The key's last characters only, e.g. `***X7Y9`."
    )
    model = serializers.CharField(allow_null=True)
    base_url = BlankAsNullField(help_text="Custom provider only.")
    last_tested_at = serializers.DateTimeField(required=False, allow_null=True)
    last_test_ok = serializers.BooleanField(required=False, allow_null=True)
    last_error_code = BlankAsNullField(required=False)
    models = ModelIdsField(
        source="available_models",
        required=False,
        help_text="Models the provider offers this key (when it lists them).",
    )
    updated_at = serializers.DateTimeField(required=False)
    key_status = ComputedField(
        "get_secret_status",
        required=False,
        help_text="`unreadable`: the encryption key changed; enter the API key again.",
    )
    key_message = ComputedField(
        "get_secret_message", required=False, help_text="Present when unreadable."
    )

    health = ComputedField(required=False)

    @extend_schema_field(CredentialHealthSerializer(required=False))
    def get_health(self, config) -> dict:
        return CredentialHealthSerializer(health_summary(config, health.advice)).data


class AIConfigSavedSerializer(SavedMixin, AIConfigResponseSerializer):
    """The AI settings just saved."""


class AIKeyFailureSerializer(ErrorSerializer):
    """An input error (`{error, error_code, fields}`), or the provider refused the key: then
    also `success: false` and `provider`, `error_code` classifying the refusal
    (`invalid_api_key`, `insufficient_quota`, `model_not_found`, `rate_limited`, …)."""

    def extra_fields(self):
        return {
            "success": serializers.BooleanField(required=False),
            "provider": serializers.ChoiceField(choices=PROVIDER_CHOICES, required=False),
        }


class AIKeyTestPassedSerializer(serializers.Serializer):
    """The provider accepted the key."""

    success = serializers.BooleanField()
    provider = serializers.ChoiceField(choices=PROVIDER_CHOICES)
    message = ComputedField()
    response = serializers.CharField(allow_null=True, help_text="The model's short answer.")
    models = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()
    latency_ms = serializers.IntegerField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_message(self, result) -> str:
        return "API key is valid"


class AIKeyTestFailedSerializer(serializers.Serializer):
    """The provider refused the key."""

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
