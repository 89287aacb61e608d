from rest_framework import serializers

from common.serializer_fields import OptionalSecretField, StrictCharField, django_validator
from common.validators import validate_graph_id

SECRET_MAX_LENGTH = 1024


class WhatsAppConfigInputSerializer(serializers.Serializer):
    """What the test and the save accept. `access_token` omitted means: use the stored one."""

    phone_number_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    business_account_id = StrictCharField(
        max_length=20, validators=[django_validator(validate_graph_id)]
    )
    access_token = OptionalSecretField(max_length=SECRET_MAX_LENGTH, label="The access token")
    app_secret = OptionalSecretField(max_length=SECRET_MAX_LENGTH, label="The app secret")

    def validate_access_token(self, value):
        return value or None
