from django import forms

from common.validators import validate_graph_id, validate_secret_text
from whatsapp.serializers import SECRET_MAX_LENGTH


class WhatsAppConfigForm(forms.Form):
    phone_number_id = forms.CharField(
        label="Phone number ID",
        max_length=20,
        validators=[validate_graph_id],
        help_text="From your Meta app: WhatsApp > API Setup.",
    )
    business_account_id = forms.CharField(
        label="WhatsApp Business Account ID", max_length=20, validators=[validate_graph_id]
    )
    access_token = forms.CharField(
        label="Access token",
        required=False,
        strip=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A permanent token of a system user (Meta Business Settings).",
    )
    app_secret = forms.CharField(
        label="App secret (optional)",
        required=False,
        strip=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=(
            "Needed to accept delivery reports on the webhook. Leave empty to keep the stored one."
        ),
    )

    def __init__(self, *args, stored=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stored is not None and stored.access_token_masked:
            self.fields["access_token"].widget.attrs["placeholder"] = stored.access_token_masked
            self.fields["access_token"].help_text = "Leave empty to keep the stored token."
        if stored is not None and stored.has_app_secret:
            self.fields["app_secret"].widget.attrs["placeholder"] = "stored"

    def clean_access_token(self):
        value = self.cleaned_data["access_token"]
        if value:
            validate_secret_text(value, max_length=SECRET_MAX_LENGTH, label="The access token")
        return value or None

    def clean_app_secret(self):
        value = self.cleaned_data["app_secret"]
        if value:
            validate_secret_text(value, max_length=SECRET_MAX_LENGTH, label="The app secret")
        # Empty keeps the stored secret (a password field is never pre-filled).
        return value or None
