from django import forms

from aiconfig.providers import (
    base_url_problem,
    get_provider,
    provider_choices,
    providers_taking_base_url,
)
from aiconfig.serializers import API_KEY_MAX_LENGTH
from common.credentials import CredentialForm
from common.form_fields import DatalistInput, SecretFormField
from common.validators import validate_base_url, validate_model_name

DEFAULT_PROVIDER = "gemini"


class AIConfigForm(CredentialForm):
    secret_field = "api_key"
    secret_noun = "key"

    provider = forms.ChoiceField(label="AI provider", choices=provider_choices)
    api_key = SecretFormField(
        label="API key", max_length=API_KEY_MAX_LENGTH, secret_label="The API key"
    )
    model = forms.CharField(
        label="Model",
        required=False,
        max_length=200,
        help_text="Leave empty for the provider's default model.",
        widget=DatalistInput(),
    )
    base_url = forms.CharField(
        label="Base URL (custom provider only)",
        required=False,
        max_length=500,
        help_text="The address of your OpenAI-compatible server, e.g. https://llm.example.org/v1.",
    )

    def __init__(self, *args, stored=None, **kwargs):
        super().__init__(*args, stored=stored, **kwargs)
        # The page's script shows the base URL only for these providers.
        self.fields["provider"].widget.attrs["data-base-url-providers"] = " ".join(
            providers_taking_base_url()
        )
        if stored is not None:
            self.fields["model"].widget.options = stored.available_models

    @classmethod
    def initial_for(cls, stored) -> dict:
        if stored is None:
            return {"provider": DEFAULT_PROVIDER}
        return {"provider": stored.provider, "model": stored.model, "base_url": stored.base_url}

    def show_result(self, result) -> None:
        """Offers the models the provider listed for the tested key."""
        if result.models:
            self.fields["model"].widget.options = result.models

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
        provider = data.get("provider")
        if provider is None:
            return data
        if not get_provider(provider).takes_base_url:
            # Without JavaScript the field is always visible: ignore it for other providers.
            data["base_url"] = None
            self.errors.pop("base_url", None)
        problem = base_url_problem(provider, data.get("base_url"))
        if problem and "base_url" not in self.errors:
            self.add_error("base_url", problem)
        return data
