from django import forms

from messaging.contacts.phones import region_choices
from messaging.contacts.services import GROUP_NAME_MAX, NAME_MAX, NOTES_MAX


class ContactForm(forms.Form):
    name = forms.CharField(label="Name", max_length=NAME_MAX, required=False)
    phone = forms.CharField(
        label="WhatsApp number",
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text="With + and the country code, like +44 7911 123456.",
    )
    language = forms.CharField(
        label="Language",
        max_length=16,
        required=False,
        help_text='The language of their templates, like "en", "es" or "pt_BR".',
    )
    groups = forms.MultipleChoiceField(
        label="Groups", required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(
        label="Notes",
        max_length=NOTES_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    opted_in = forms.BooleanField(
        label="Agreed to receive messages from the church",
        required=False,
        help_text="Tick only if the person said yes (in person, on a form, or by message). "
        "Broadcasts go only to people who agreed.",
    )

    def __init__(self, *args, groups=(), default_region="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [(str(g.pk), g.name) for g in groups]
        if default_region:
            self.fields["phone"].help_text = (
                f"With + and the country code; numbers without + are read as numbers of "
                f"{dict(region_choices()).get(default_region, default_region)}."
            )

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["group_ids"] = [int(pk) for pk in data.pop("groups")]
        return data


class ContactGroupForm(forms.Form):
    name = forms.CharField(label="Group name", max_length=GROUP_NAME_MAX)


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="The first row names the columns: phone (required), and any of name, "
        "language, groups (separated by ;) and opted_in (yes or no).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ContactSettingsForm(forms.Form):
    default_region = forms.ChoiceField(
        label="Country of numbers typed without +",
        required=False,
        help_text="Numbers that start with + are read with their own country code.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_region"].choices = [
            ("", "None: every number needs + and its country code"),
            *region_choices(),
        ]


class ContactSearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=200, required=False)
    group = forms.ChoiceField(label="Group", required=False)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "All groups")] + [(str(g.pk), g.name) for g in groups]
