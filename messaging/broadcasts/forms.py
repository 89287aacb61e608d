"""The New broadcast form: step one chooses the template and the people, step two fills the
template's variables and confirms (after a preview of who is skipped and why)."""

from django import forms

from messaging.broadcasts.services import NAME_MAX

VALUE_HELP = (
    "Fixed text, or a contact field: {{first_name}}, {{name}} or {{phone}}. "
    "{{first_name|friend}} says \u201cfriend\u201d to someone without a name."
)


class BroadcastForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX,
        help_text="For you and your team, e.g. \u201cEaster service invitation\u201d.",
    )
    template = forms.ChoiceField(label="Approved template")
    groups = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label="Send to these groups"
    )
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Start at (UTC, optional)",
        help_text="Leave empty to start now. Format: 2026-12-24 18:00.",
        widget=forms.DateTimeInput(attrs={"placeholder": "2026-12-24 18:00"}),
    )

    def __init__(self, *args, templates, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {f"{t.name}|{t.language}": t for t in templates}
        self.fields["template"].choices = [("", "Choose a template")] + [
            (key, f"{t.name} ({t.language}) · {t.category_words}")
            for key, t in self.templates.items()
        ]
        self.fields["groups"].choices = [
            (str(g.pk), f"{g.name} ({g.contact_count})") for g in groups
        ]
        template = self.chosen_template()
        # The blanks appear once a template is chosen; they are required from the step that
        # shows them on (the first "Next" only reveals them).
        shown = any(key.startswith("var_") for key in (self.data if self.is_bound else {}))
        if template is not None:
            for variable in template.variables:
                self.fields[f"var_{variable}"] = forms.CharField(
                    label=f"Variable {{{{{variable}}}}}",
                    max_length=1024,
                    help_text=VALUE_HELP,
                    required=shown,
                )

    def chosen_template(self):
        key = self.data.get("template") if self.is_bound else self.initial.get("template")
        return self.templates.get(key or "")

    def clean_groups(self):
        groups = self.cleaned_data["groups"]
        if not groups:
            raise forms.ValidationError("Choose at least one group.")
        return [int(g) for g in groups]

    def variables(self):
        template = self.chosen_template()
        if template is None:
            return []
        values = {v: self.cleaned_data.get(f"var_{v}", "") for v in template.variables}
        return values if template.is_named else [values[v] for v in template.variables]

    def has_values(self) -> bool:
        """Every blank has a value (the step that showed them was filled in)."""
        return all(self.cleaned_data.get(name) for name in self.fields if name.startswith("var_"))

    def variable_fields(self):
        return [self[name] for name in self.fields if name.startswith("var_")]

    def main_fields(self):
        return [self[name] for name in ("name", "template", "groups", "scheduled_at")]
