from django import forms

from organizations.models import AIUsePriority


class BudgetForm(forms.Form):
    """An owner's monthly budget for the organization's own AI key."""

    ai_cost_cap_usd = forms.DecimalField(
        label="Monthly AI spending cap (USD)",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Empty means no cap. Calls are refused once this month's spending reaches it.",
    )
    ai_token_cap = forms.IntegerField(
        label="Monthly AI token cap",
        required=False,
        min_value=0,
        max_value=2**62,
        help_text="Empty means no cap. Input and output tokens together.",
    )
    ai_use_priority = forms.ChoiceField(
        label="Which key goes first", choices=AIUsePriority.choices, required=False
    )

    def __init__(self, *args, platform_key: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not platform_key:
            del self.fields["ai_use_priority"]
