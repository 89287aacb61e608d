"""Contacts API: what requests may carry, and one serializer per response shape."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializer_fields import StrictCharField
from messaging.contacts.services import GROUP_NAME_MAX, NAME_MAX, NOTES_MAX
from messaging.models import ConsentSource, Contact, ContactGroup


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true or false (DRF's own also takes "yes", 1, "on"…)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1}})
class IdListField(serializers.Field):
    """A JSON list of integer ids; any fault is one message for the whole field (the error
    body keeps `fields` flat)."""

    default_error_messages = {"invalid": "Must be a list of group ids (whole numbers)."}

    def __init__(self, *, max_items: int, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, list) or len(data) > self.max_items:
            self.fail("invalid")
        for item in data:
            if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item < 2**63:
                self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


# --- requests --------------------------------------------------------------------------------


class ContactInputSerializer(serializers.Serializer):
    """POST /api/contacts (phone required) and PATCH /api/contacts/<id> (any subset)."""

    name = StrictCharField(required=False, allow_blank=True, max_length=NAME_MAX)
    phone = StrictCharField(
        max_length=40,
        help_text="The WhatsApp number, best with + and the country code. Without +, it is read "
        "as a number of the organization's default country.",
    )
    language = StrictCharField(
        required=False, allow_blank=True, max_length=16, help_text='E.g. "en", "es", "pt_BR".'
    )
    groups = IdListField(max_items=500, required=False, help_text="Group ids.")
    notes = StrictCharField(
        required=False, allow_blank=True, max_length=NOTES_MAX, trim_whitespace=False
    )
    opted_in = StrictBooleanField(
        required=False,
        help_text="true records the person's consent to receive messages (source `api`); false "
        "withdraws it. Only for consent the person gave.",
    )

    def to_service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "groups" in data:
            data["group_ids"] = data.pop("groups")
        return data


class ContactGroupInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=GROUP_NAME_MAX)


class ContactSettingsInputSerializer(serializers.Serializer):
    default_region = StrictCharField(
        allow_blank=True,
        max_length=2,
        help_text='ISO country code ("US", "BR") of numbers typed without +; "" for none.',
    )


class ContactListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    group = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)


# --- responses -------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    """A contact as every contacts endpoint answers it."""

    groups = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    phone = serializers.CharField(read_only=True, help_text="E.164, e.g. +5511987654321.")
    opt_in_source = serializers.ChoiceField(
        choices=ConsentSource.choices, allow_blank=True, read_only=True
    )
    window_open_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Free-form messages may be sent until then (24 h after the person's last "
        "message); null if they never wrote in.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "phone",
            "language",
            "groups",
            "opted_in_at",
            "opt_in_source",
            "opted_out_at",
            "opt_out_reason",
            "notes",
            "window_open_until",
        ]
        read_only_fields = fields


class ContactPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ContactSerializer(many=True)


class ContactGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactGroup
        fields = ["id", "name"]
        read_only_fields = fields


class ContactSettingsSerializer(serializers.Serializer):
    default_region = serializers.CharField(
        help_text='ISO country code of numbers typed without + ("" for none).'
    )


class SkippedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1 is the first row after the header.")
    error = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = SkippedRowSerializer(many=True)


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    pass


class ImportRequestSerializer(serializers.Serializer):
    file = UploadField(
        help_text="CSV, UTF-8, with a header row naming its columns among name, phone "
        "(required), language, groups (names separated by ;) and opted_in (yes/no)."
    )
