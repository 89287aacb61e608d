import json
import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiconfig.providers import PROVIDERS
from common.api_schema import ErrorSerializer
from common.serializer_fields import ComputedField, StrictCharField, StrictChoiceField
from messaging.models import MessageRecord, MessageTemplate, SendStatus
from messaging.services import (
    TEMPLATE_BODY_MAX,
    TEMPLATE_CATEGORIES,
    TONES,
    WHATSAPP_MAX_TEXT,
    e164_digits,
)
from whatsapp import graph

LANGUAGE_CODE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class GenerateSerializer(serializers.Serializer):
    prompt = StrictCharField(min_length=1, max_length=4000)
    language = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=16)
    tone = StrictChoiceField(choices=list(TONES), required=False, allow_null=True, allow_blank=True)

    def validate_language(self, value):
        if value and not re.fullmatch(LANGUAGE_CODE, value):
            raise serializers.ValidationError('Use a language code such as "en", "es" or "pt-BR".')
        return value or None


VARIABLE_VALUE_MAX = 1024
VARIABLES_MAX = 100


VARIABLES_SCHEMA = {
    "oneOf": [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "additionalProperties": {"type": "string"}},
    ],
    "description": "Values for the template's variables: a list in order for positional "
    "ones ({{1}}, {{2}}…), an object by name for named ones. A value may use contact fields: "
    '"{{first_name}}", "{{name}}", "{{phone}}", with a fallback: "{{first_name|friend}}".',
}


def _is_text(value, max_length: int) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and "\x00" not in value
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    )


def _variables_valid(data) -> bool:
    values = list(data.values()) if isinstance(data, dict) else data
    if not isinstance(values, list) or len(values) > VARIABLES_MAX:
        return False
    keys = list(data) if isinstance(data, dict) else []
    return all(_is_text(text, VARIABLE_VALUE_MAX) or text == "" for text in [*values, *keys])


@extend_schema_field(
    {
        "type": "object",
        "required": ["name", "language"],
        "properties": {
            "name": {"type": "string", "maxLength": 512},
            "language": {"type": "string", "maxLength": 20},
            "variables": VARIABLES_SCHEMA,
        },
    }
)
class TemplateChoiceField(serializers.Field):
    """`{name, language, variables?}`; any fault is one message for the whole field (the
    error body keeps `fields` flat)."""

    default_error_messages = {
        "invalid": "Must be an object with the template's name and language (text), and "
        f"optionally its variables: a list or an object of at most {VARIABLES_MAX} texts of at "
        f"most {VARIABLE_VALUE_MAX} characters."
    }

    def to_internal_value(self, data):
        if (
            not isinstance(data, dict)
            or set(data) - {"name", "language", "variables"}
            or not _is_text(data.get("name"), 512)
            or not _is_text(data.get("language"), 20)
            or ("variables" in data and not _variables_valid(data["variables"]))
        ):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class SendSerializer(serializers.Serializer):
    """Free text or a template, to a contact or a number."""

    to = StrictCharField(max_length=32, required=False)
    contact_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    text = StrictCharField(
        min_length=1, max_length=WHATSAPP_MAX_TEXT, trim_whitespace=False, required=False
    )
    template = TemplateChoiceField(required=False)

    def validate_to(self, value):
        digits = e164_digits(value)
        if digits is None:
            raise serializers.ValidationError(
                "Enter the number in international format with its country code, e.g. +15551234567."
            )
        return digits

    def validate_text(self, value):
        if not value.strip():
            raise serializers.ValidationError("Write the message first.")
        return value

    def validate(self, attrs):
        if ("to" in attrs) == ("contact_id" in attrs):
            raise serializers.ValidationError({"to": ["Give either `to` or `contact_id`."]})
        if ("text" in attrs) == ("template" in attrs):
            raise serializers.ValidationError({"text": ["Give either `text` or `template`."]})
        return attrs


class MessageRecordSerializer(serializers.ModelSerializer):
    """A sent message (or a refused send) in the history. `sent_by` is null once the user
    is deleted."""

    sent_by = serializers.EmailField(source="user.email", default=None, allow_null=True)
    to = serializers.SerializerMethodField()

    class Meta:
        model = MessageRecord
        fields = [
            "id",
            "to",
            "text",
            "status",
            "message_id",
            "error_code",
            "status_error_code",
            "sent_by",
            "created_at",
            "status_updated_at",
        ]

    @extend_schema_field(
        {"type": "string", "nullable": True, "description": "E.164 number, e.g. +15551234567."}
    )
    def get_to(self, obj):
        return f"+{obj.to}" if obj.to else None


class TokenUsageSerializer(serializers.Serializer):
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)


class DraftSerializer(serializers.Serializer):
    """A draft written by the organization's AI provider."""

    # Renders a clients.Generation; the context names the provider and the key that served it.

    text = serializers.CharField(help_text="The AI's draft; nothing is sent.")
    provider = ComputedField()
    model = serializers.CharField()
    credential = ComputedField()
    usage = TokenUsageSerializer(source="*")

    @extend_schema_field(serializers.ChoiceField(choices=list(PROVIDERS)))
    def get_provider(self, generation) -> str:
        return self.context["provider"]

    @extend_schema_field(
        serializers.ChoiceField(
            choices=["primary", "backup", "platform"],
            help_text=(
                "Which key served the draft: the organization's main key, its backup key, or "
                "the platform's managed key."
            ),
        )
    )
    def get_credential(self, generation) -> str:
        return self.context["credential"]


class SentSerializer(serializers.Serializer):
    """A message WhatsApp accepted."""

    success = ComputedField()
    message_id = serializers.CharField(help_text="The id WhatsApp gave the message (`wamid…`).")
    status = serializers.ChoiceField(choices=SendStatus.choices)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, record) -> bool:
        return True


class TokenTotalsSerializer(serializers.Serializer):
    input = serializers.IntegerField()
    output = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    """This month's drafts, sends, failures and AI tokens."""

    period_start = serializers.DateTimeField(help_text="Start of this calendar month.")
    drafts = serializers.IntegerField()
    sends = serializers.IntegerField()
    failures = serializers.IntegerField()
    tokens = TokenTotalsSerializer()


# --- templates ---------------------------------------------------------------------------------

MAX_COMPONENTS_JSON = 64 * 1024


class TemplateSerializer(serializers.ModelSerializer):
    """A stored copy of one of the organization's WhatsApp templates."""

    variables = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text='The body\'s variables: names, or "1", "2"… for positional ones, in order.',
    )
    body = serializers.CharField(read_only=True, help_text="The body text with its variables.")

    class Meta:
        model = MessageTemplate
        fields = ["id", "name", "language", "status", "category", "variables", "body"]


class TemplateSubmitSerializer(serializers.Serializer):
    name = StrictCharField(max_length=512)
    language = StrictCharField(max_length=20)
    category = StrictCharField(max_length=20)
    body = StrictCharField(required=False, max_length=TEMPLATE_BODY_MAX, trim_whitespace=False)
    examples = serializers.JSONField(
        required=False,
        help_text="Example values: a list in the order of the variables, or an object by name.",
    )
    components = serializers.JSONField(
        required=False, help_text="Meta's own components, instead of `body`."
    )
    parameter_format = StrictChoiceField(choices=["POSITIONAL", "NAMED"], required=False)

    def validate_name(self, value):
        if not graph.TEMPLATE_NAME.fullmatch(value):
            raise serializers.ValidationError(
                "Use only lowercase letters, digits and underscores, e.g. sunday_service."
            )
        return value

    def validate_language(self, value):
        if not graph.TEMPLATE_LANGUAGE.fullmatch(value):
            raise serializers.ValidationError(
                'Use a language code such as "en_US", "es" or "pt_BR".'
            )
        return value

    def validate_category(self, value):
        if value.upper() not in TEMPLATE_CATEGORIES:
            raise serializers.ValidationError("Choose MARKETING, UTILITY or AUTHENTICATION.")
        return value.upper()

    def validate_examples(self, value):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return value
        raise serializers.ValidationError(
            "Give a list of texts, or an object of texts by variable name."
        )

    def validate_components(self, value):
        if not isinstance(value, list) or not value or not all(isinstance(c, dict) for c in value):
            raise serializers.ValidationError("Give a list of Meta's component objects.")
        if len(json.dumps(value)) > MAX_COMPONENTS_JSON or "\\u0000" in json.dumps(value):
            raise serializers.ValidationError("The components are too large or not valid.")
        return value

    def validate(self, attrs):
        if ("body" in attrs) == ("components" in attrs):
            raise serializers.ValidationError({"body": ["Give either `body` or `components`."]})
        if "parameter_format" in attrs and "components" not in attrs:
            attrs.pop("parameter_format")  # built from the body's variables
        return attrs


class TemplateSyncQueuedSerializer(serializers.Serializer):
    """A template sync was queued."""

    status = serializers.CharField(help_text='"queued": the sync runs in the background.')


class TemplateRefusedSerializer(ErrorSerializer):
    """A refused template submission: our classification (`template_exists`,
    `template_variable_at_edge`, `template_invalid`, `invalid_input`, …), and Meta's own reason
    when it gave one. (Rendered by common.api_errors.service_error_response.)"""

    def extra_fields(self):
        return {
            "meta_reason": serializers.CharField(
                required=False, help_text="Meta's explanation, when it gave one."
            ),
        }
