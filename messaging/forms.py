from django import forms

from messaging.services import TONES, WHATSAPP_MAX_TEXT, e164_digits

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
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+15551234567"}),
        help_text="International format with the country code.",
    )

    def clean_to(self):
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
