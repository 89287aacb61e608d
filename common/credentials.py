"""One credential-settings mechanism, declared once per integration.

An integration whose credentials an organization brings (the AI provider key, the WhatsApp
number) describes itself once with a `CredentialSettings`: its page form and API input, its
test, save and remove services, the serializers of its API answers and its audit names. The
Settings page (settings_page/views.py) and the settings API (settings_page/api.py) run
test → keep the tested secret → save → remove the same way for every declaration, so a new
credential (a backup AI key, say) is one more declaration."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict

from common.errors import ServiceError
from common.serializer_fields import ComputedField


def _always_passed(result: Any) -> bool:
    return True


def _always_available(organization: Any) -> bool:
    return True


@dataclass(frozen=True)
class CredentialSettings:
    """What an integration tells the shared settings mechanism about its credentials."""

    slug: str  # page URL part (/settings/<slug>/) and the tested-secret scope
    title: str  # the section heading, e.g. "AI provider"
    noun: str  # "AI configuration": "… saved successfully", "Remove the …"
    secret_noun: str  # "key": "Tested key ***X7Y9: leave empty to save it"
    # The first is the credential itself; a secret left empty means "keep the stored one".
    secret_fields: tuple[str, ...]
    # Inputs a tested secret belongs with: Save reuses it only when they are unchanged (they
    # are also repeated in the API's failure answers).
    bound_fields: tuple[str, ...]
    form: type["CredentialForm"]
    input_serializer: type[serializers.Serializer]
    config_for: Callable[[Any], Any]  # organization -> stored configuration or None
    test: Callable[..., Any]  # (*, membership, **inputs) -> result; saves nothing
    save: Callable[..., Any]  # (*, membership, ip, **inputs) -> configuration; tests first
    remove: Callable[..., bool]  # (*, membership, ip) -> whether there was one
    remove_warning: Callable[[Any], str]  # what removing this configuration stops
    audit_actions: tuple[str, ...]  # what save and remove write to the audit trail
    throttle_scope: str
    # The API's answers: the stored settings (None renders "not configured"), after a save,
    # after a test that passed, after a test the provider refused, and a refused request.
    settings_serializer: type["StoredSettingsSerializer"]
    saved_serializer: type[serializers.Serializer]
    test_passed_serializer: type[serializers.Serializer]
    test_failed_serializer: type[serializers.Serializer]
    failure_serializer: type[serializers.Serializer]
    api_path: str  # "settings/ai-config": the API's URL for these settings (+ "/test")
    api_name: str  # "api-ai-config": its URL name (+ "-test")
    api_tag: str
    checked_by: str  # who judges the credentials: "the provider", "Meta"
    # The page's buttons.
    test_label: str
    test_busy_text: str
    save_busy_text: str
    empty_text: str  # shown when nothing is stored yet
    unreadable_message: str  # the stored secret can no longer be decrypted: what to do
    # A test either returns a result that says whether it passed, or raises `refusal` (a
    # ServiceError carrying the provider's verdict, which is an answer and not a bad request).
    test_passed: Callable[[Any], bool] = _always_passed
    refusal: type[ServiceError] | None = None
    # The reverse relation from an organization to its configuration ("ai_config"): reads
    # load it with the membership, in one query.
    organization_relation: str | None = None
    # Whether the organization's plan offers this credential (the services refuse it
    # otherwise); the page then says `unavailable_text` instead of showing the form.
    available: Callable[[Any], bool] = _always_available
    unavailable_text: str = ""
    # What to do about a health error code (common/credential_health.py), in words; None
    # when the credential has no health checks.
    health_advice: Callable[[str | None], str] | None = None

    @property
    def primary_secret(self) -> str:
        return self.secret_fields[0]

    @property
    def saved_message(self) -> str:
        return f"{self.noun} saved successfully"

    @property
    def tested_secret_expired(self) -> str:
        return f"The tested {self.secret_noun} is no longer at hand: paste it again and press Save."


class CredentialForm(forms.Form):
    """A settings form whose first secret field may be left empty to keep the stored secret."""

    secret_field: str  # the field holding the secret, e.g. "api_key"
    secret_noun: str  # "key"

    def __init__(self, *args, stored=None, **kwargs):
        super().__init__(*args, **kwargs)
        mask = getattr(stored, f"{self.secret_field}_masked", None) if stored else None
        if mask:
            self.fields[self.secret_field].widget.attrs["placeholder"] = mask
            self.fields[
                self.secret_field
            ].help_text = f"Leave empty to keep the stored {self.secret_noun}."

    @classmethod
    def initial_for(cls, stored) -> dict:
        """The form's starting values for a stored configuration (None: nothing stored)."""
        return {}

    def show_result(self, result) -> None:
        """After a test: a form may offer what the provider answered (e.g. its models)."""

    def show_tested(self, *, mask: str) -> None:
        """After a passed test: the secret is no longer in the field; say Save keeps it."""
        self.fields[self.secret_field].widget.attrs["placeholder"] = (
            f"Tested {self.secret_noun} {mask}: leave empty to save it"
        )


class StoredSettingsSerializer(serializers.Serializer):
    """An integration's stored settings. Without any, `{"configured": false}` and the
    `summary_fields` as null; fields in `omitted_when_null` appear only with a value."""

    summary_fields: tuple[str, ...] = ()
    omitted_when_null: tuple[str, ...] = ()
    # The model property saying the stored secret can no longer be decrypted, and what to do.
    unreadable_attr: str = ""
    unreadable_message: str = ""

    configured = ComputedField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_configured(self, config) -> bool:
        return config is not None

    @property
    def data(self):
        if self.instance is None:
            return ReturnDict(self.to_representation(None), serializer=self)
        return super().data

    @extend_schema_field(serializers.ChoiceField(choices=["ok", "unreadable"], required=False))
    def get_secret_status(self, config) -> str:
        return "unreadable" if getattr(config, self.unreadable_attr) else "ok"

    @extend_schema_field(serializers.CharField(required=False))
    def get_secret_message(self, config) -> str | None:
        return self.unreadable_message if getattr(config, self.unreadable_attr) else None

    def to_representation(self, config):
        if config is None:
            return {"configured": False, **dict.fromkeys(self.summary_fields)}
        data = super().to_representation(config)
        for name in self.omitted_when_null:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class SavedMixin(serializers.Serializer):
    """`success: true` and the `message` (from the context) ahead of the saved settings."""

    success = ComputedField()
    message = ComputedField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_success(self, config) -> bool:
        return True

    @extend_schema_field(OpenApiTypes.STR)
    def get_message(self, config) -> str:
        return self.context["message"]
