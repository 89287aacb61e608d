"""DRF fields that refuse the wrong JSON type instead of coercing it."""

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
