from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from common.serializer_fields import (
    OptionalSecretField,
    StrictCharField,
    StrictChoiceField,
    django_validator,
)
from common.validators import validate_base_url, validate_model_name

API_KEY_MAX_LENGTH = 512


class AIConfigInputSerializer(serializers.Serializer):
    """What the test and the save accept. `api_key` omitted means: use the stored key."""

    provider = StrictChoiceField(choices=list(PROVIDERS))
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
        provider = attrs["provider"]
        if provider == "custom" and not attrs.get("base_url"):
            raise serializers.ValidationError(
                {"base_url": ["Enter the base URL of your OpenAI-compatible server."]}
            )
        if provider != "custom" and attrs.get("base_url"):
            raise serializers.ValidationError(
                {"base_url": ["A base URL is only used with the custom provider."]}
            )
        return attrs
