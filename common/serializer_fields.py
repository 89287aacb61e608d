"""DRF fields that refuse the wrong JSON type instead of coercing it."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


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
            raise serializers.ValidationError(exc.messages)

    return run
