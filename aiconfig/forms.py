from django import forms

from aiconfig.providers import provider_choices
from aiconfig.serializers import API_KEY_MAX_LENGTH
from common.form_fields import SecretFormField
from common.validators import validate_base_url, validate_model_name


class AIConfigForm(forms.Form):
    provider = forms.ChoiceField(label="AI provider", choices=provider_choices)
    api_key = SecretFormField(
        label="API key", max_length=API_KEY_MAX_LENGTH, secret_label="The API key"
    )
    model = forms.CharField(
        label="Model",
        required=False,
        max_length=200,
        help_text="Leave empty for the provider's default model.",
        widget=forms.TextInput(attrs={"list": "ai-models", "autocomplete": "off"}),
    )
    base_url = forms.CharField(
        label="Base URL (custom provider only)",
        required=False,
        max_length=500,
        help_text="The address of your OpenAI-compatible server, e.g. https://llm.example.org/v1.",
    )

    def __init__(self, *args, stored=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stored is not None and stored.api_key_masked:
            self.fields["api_key"].widget.attrs["placeholder"] = stored.api_key_masked
            self.fields["api_key"].help_text = "Leave empty to keep the stored key."

    def clean_model(self):
        value = self.cleaned_data["model"].strip()
        if value:
            validate_model_name(value)
        return value or None

    def clean_base_url(self):
        value = self.cleaned_data["base_url"].strip()
        if value:
            validate_base_url(value)
        return value or None

    def clean(self):
        data = super().clean()
        if data.get("provider") == "custom":
            if not data.get("base_url") and "base_url" not in self.errors:
                self.add_error("base_url", "Enter the base URL of your OpenAI-compatible server.")
        else:
            # Without JavaScript the field is always visible: ignore it for other providers.
            data["base_url"] = None
            self.errors.pop("base_url", None)
        return data
