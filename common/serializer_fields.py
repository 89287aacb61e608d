"""DRF fields that refuse the wrong JSON type instead of coercing it, and a computed response
field documented as it renders."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from common.validators import validate_secret_text


class StrictCharField(serializers.CharField):
    """A CharField that accepts only a JSON string (DRF's own turns 5 into "5")."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A ChoiceField that accepts only a JSON string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=type(data).__name__)
        return super().to_internal_value(data)


def django_validator(func, **kwargs):
    """Runs a Django validator (shared with the page forms) as a DRF validator."""

    def run(value):
        try:
            func(value, **kwargs)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    return run


class OptionalSecretField(StrictCharField):
    """A key, token or secret in a request body. Omitted, null or "" all mean "keep the
    stored one"; otherwise it must look like a credential (errors never repeat it)."""

    def __init__(self, *, max_length: int, label: str, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            allow_null=True,
            allow_blank=True,
            trim_whitespace=False,
            max_length=max_length,
            validators=[django_validator(validate_secret_text, max_length=max_length, label=label)],
            **kwargs,
        )


class ComputedField(serializers.SerializerMethodField):
    """A response value the serializer computes (`get_<name>`), documented like an ordinary
    field: required unless `required=False`. (DRF makes a method field read-only, which the
    OpenAPI schema turns into "always present".)"""

    def __init__(self, method_name=None, *, required: bool = True, **kwargs):
        super().__init__(method_name, **kwargs)
        self.read_only = False
        self.required = required


class BlankAsNullField(serializers.CharField):
    """A text column rendered as null when blank (the API says "none", not "")."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(value) or None
