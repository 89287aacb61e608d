from django import forms
from django.utils.html import format_html, format_html_join

from common.validators import validate_secret_text


class SecretFormField(forms.CharField):
    """A key, token or secret typed into a page: a password input that is never pre-filled.
    Empty gives None ("keep the stored one"); otherwise it must look like a credential."""

    def __init__(self, *, max_length: int, secret_label: str, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            strip=False,
            max_length=max_length,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            **kwargs,
        )
        self.secret_label = secret_label

    def clean(self, value):
        value = super().clean(value)
        if value:
            validate_secret_text(value, max_length=self.max_length, label=self.secret_label)
        return value or None


class DatalistInput(forms.TextInput):
    """A text input offering suggestions (`options`) in a <datalist>; any value may be typed.
    The list's id follows the input's, so two such forms can share a page."""

    def __init__(self, attrs=None):
        super().__init__(attrs={**(attrs or {}), "autocomplete": "off"})
        self.options: list[str] = []

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or name}-options"
        attrs = {**(attrs or {}), "list": list_id}
        datalist = format_html(
            '<datalist id="{}">{}</datalist>',
            list_id,
            format_html_join("", '<option value="{}">', ((option,) for option in self.options)),
        )
        return super().render(name, value, attrs, renderer) + datalist
