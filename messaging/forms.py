from django import forms

from messaging.services import TEMPLATE_BODY_MAX, TONES, WHATSAPP_MAX_TEXT, e164_digits
from whatsapp import graph

LANGUAGES = [
    ("", "Same as the prompt"),
    ("en", "English"),
    ("es", "Spanish"),
    ("pt", "Portuguese"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("sw", "Swahili"),
    ("tl", "Tagalog"),
    ("ko", "Korean"),
]


class DraftForm(forms.Form):
    prompt = forms.CharField(
        label="What should the message say?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="E.g. invite everyone to the Christmas Eve service at 7 pm, with candles.",
    )
    tone = forms.ChoiceField(label="Tone", choices=[(k, k.capitalize()) for k in TONES])
    language = forms.ChoiceField(label="Language", choices=LANGUAGES, required=False)


class SendForm(forms.Form):
    text = forms.CharField(
        label="Message",
        max_length=WHATSAPP_MAX_TEXT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Edit the draft as you like before sending.",
    )
    to = forms.CharField(
        label="Recipient's WhatsApp number",
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+15551234567"}),
        help_text="International format with the country code.",
    )

    def __init__(self, *args, contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Writing to a chosen contact: the number comes from the contact.
        self.contact = contact
        if contact is not None:
            self.fields["to"].widget = forms.HiddenInput()

    def clean_to(self):
        if self.contact is not None:
            return ""
        if not self.cleaned_data["to"].strip():
            raise forms.ValidationError("Enter the recipient's number.")
        digits = e164_digits(self.cleaned_data["to"])
        if digits is None:
            raise forms.ValidationError(
                "Enter the number in international format with its country code, e.g. +15551234567."
            )
        return digits

    def clean_text(self):
        value = self.cleaned_data["text"]
        if not value.strip():
            raise forms.ValidationError("Write the message first.")
        return value


# --- templates -----------------------------------------------------------------------------------

# Meta's language codes most churches use; Meta accepts others through the API.
TEMPLATE_LANGUAGES = [
    ("en_US", "English (US)"),
    ("en_GB", "English (UK)"),
    ("en", "English"),
    ("es", "Spanish"),
    ("es_MX", "Spanish (Mexico)"),
    ("pt_BR", "Portuguese (Brazil)"),
    ("pt_PT", "Portuguese (Portugal)"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("sw", "Swahili"),
    ("fil", "Filipino"),
    ("ko", "Korean"),
]
TEMPLATE_CATEGORY_CHOICES = [
    ("MARKETING", "Marketing: announcements and invitations"),
    ("UTILITY", "Utility: about the person's own registration, appointment or request"),
]


class TemplateSubmitForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=512,
        help_text="Lowercase letters, digits and underscores, e.g. sunday_service. People do "
        "not see it.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    language = forms.ChoiceField(label="Language", choices=TEMPLATE_LANGUAGES)
    category = forms.ChoiceField(
        label="Category", choices=TEMPLATE_CATEGORY_CHOICES, widget=forms.RadioSelect
    )
    prompt = forms.CharField(
        label="What is it for? (for Draft with AI)",
        max_length=1000,
        required=False,
        help_text="E.g. remind people of their pastoral appointment, with their first name and "
        "the date.",
    )
    body = forms.CharField(
        label="Text",
        max_length=TEMPLATE_BODY_MAX,
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "data-template-body": ""}),
        help_text="At most 1,024 characters. Blanks: {{1}}, {{2}}… or {{first_name}}.",
    )
    examples = forms.CharField(
        label="Examples for the blanks",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, in the order of the blanks. Meta reviews the template with them.",
    )

    def clean_name(self):
        value = self.cleaned_data["name"].strip()
        if not graph.TEMPLATE_NAME.fullmatch(value):
            raise forms.ValidationError(
                "Use only lowercase letters, digits and underscores, e.g. sunday_service."
            )
        return value

    def example_list(self) -> list[str]:
        text = self.cleaned_data.get("examples") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class TemplateValuesForm(forms.Form):
    """One field per blank of a template; each is fixed text or a contact field."""

    def __init__(self, *args, template, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        for index, name in enumerate(template.variables, 1):
            label = f"Blank {index}" if name.isdigit() else name.replace("_", " ").capitalize()
            self.fields[f"var_{name}"] = forms.CharField(
                label=f"{label} ({{{{{name}}}}})",
                max_length=1024,
                help_text="Fixed text, or a contact field: {{first_name}}, {{name}}, {{phone}} "
                "(with a fallback: {{first_name|friend}}).",
            )

    def values(self):
        names = self.template.variables
        values = [self.cleaned_data[f"var_{name}"] for name in names]
        if self.template.is_named:
            return dict(zip(names, values, strict=True))
        return values
