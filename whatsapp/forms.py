from django import forms

from common.credentials import CredentialForm
from common.form_fields import SecretFormField
from common.validators import validate_graph_id
from whatsapp.serializers import SECRET_MAX_LENGTH


class WhatsAppConfigForm(CredentialForm):
    secret_field = "access_token"
    secret_noun = "token"

    phone_number_id = forms.CharField(
        label="Phone number ID",
        max_length=20,
        validators=[validate_graph_id],
        help_text="From your Meta app: WhatsApp > API Setup.",
    )
    business_account_id = forms.CharField(
        label="WhatsApp Business Account ID", max_length=20, validators=[validate_graph_id]
    )
    access_token = SecretFormField(
        label="Access token",
        max_length=SECRET_MAX_LENGTH,
        secret_label="The access token",
        help_text="A permanent token of a system user (Meta Business Settings).",
    )
    app_secret = SecretFormField(
        label="App secret (optional)",
        max_length=SECRET_MAX_LENGTH,
        secret_label="The app secret",
        help_text=(
            "Needed to accept delivery reports on the webhook. Leave empty to keep the stored one."
        ),
    )
    app_id = forms.CharField(
        label="App ID (optional)",
        max_length=20,
        required=False,
        validators=[validate_graph_id],
        help_text=(
            "From your Meta app's dashboard. With the app secret, we warn you by email "
            "before the access token expires."
        ),
    )

    def __init__(self, *args, stored=None, **kwargs):
        super().__init__(*args, stored=stored, **kwargs)
        if stored is not None and stored.has_app_secret:
            self.fields["app_secret"].widget.attrs["placeholder"] = "stored"

    @classmethod
    def initial_for(cls, stored) -> dict:
        if stored is None:
            return {}
        return {
            "phone_number_id": stored.phone_number_id,
            "business_account_id": stored.business_account_id,
            "app_id": stored.app_id,
        }
