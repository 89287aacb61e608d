from rest_framework import serializers

from common.serializer_fields import StrictCharField, django_validator
from common.validators import validate_graph_id, validate_secret_text

SECRET_MAX_LENGTH = 1024


class WhatsAppConfigInputSerializer(serializers.Serializer):
    """What the test and the save accept. `access_token` omitted means: use the stored one."""

    phone_number_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    business_account_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    access_token = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        max_length=SECRET_MAX_LENGTH,
        validators=[
            django_validator(
                validate_secret_text, max_length=SECRET_MAX_LENGTH, label="The access token"
            )
        ],
    )
    app_secret = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        max_length=SECRET_MAX_LENGTH,
        validators=[
            django_validator(
                validate_secret_text, max_length=SECRET_MAX_LENGTH, label="The app secret"
            )
        ],
    )

    def validate_access_token(self, value):
        return value or None
