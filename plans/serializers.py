"""Request and response shapes of the plans API (each response serializer renders and
documents its body)."""

import re
from datetime import date

from rest_framework import serializers

from organizations.models import AIUsePriority
from plans.models import Credential
from plans.registry import PLANS, plan_for
from plans.services import CAPS

MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: str | None) -> date | None:
    """ "2026-11" -> date(2026, 11, 1); None for anything else."""
    match = MONTH.fullmatch(value or "")
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (2000 <= year <= 9999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


class MonthQuerySerializer(serializers.Serializer):
    month = serializers.CharField(required=False, max_length=7)

    def validate_month(self, value):
        month = parse_month(value)
        if month is None:
            raise serializers.ValidationError("Use a month as YYYY-MM, e.g. 2026-11.")
        return month


def _money(**kwargs):
    return serializers.DecimalField(
        max_digits=22, decimal_places=8, coerce_to_string=False, **kwargs
    )


class AITotalsSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = _money()
    unpriced_calls = serializers.IntegerField(
        help_text="Calls whose model is not in the price table: tokens counted, cost unknown."
    )


class AIDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = _money(help_text="The cost of the day's priced calls.")
    unpriced_calls = serializers.IntegerField(
        help_text="The day's calls whose model is not in the price table: their cost is unknown "
        "(not in cost_usd), so with any the day's cost is unknown, never zero."
    )


class AIUsageSerializer(AITotalsSerializer):
    by_credential = serializers.DictField(
        child=AITotalsSerializer(), help_text=f"Keyed by {', '.join(Credential.values)}."
    )
    by_day = AIDaySerializer(many=True)


class WhatsAppDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()


class WhatsAppUsageSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Messages WhatsApp accepted this month.")
    delivered = serializers.IntegerField()
    billable_by_category = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Billable messages per Meta pricing category (from the status webhook).",
    )
    by_day = WhatsAppDaySerializer(many=True)


class CapSerializer(serializers.Serializer):
    cap = serializers.ChoiceField(choices=[c.name for c in CAPS])
    label = serializers.CharField()
    unit = serializers.ChoiceField(choices=["usd", "tokens", "recipients"])
    limit = serializers.DecimalField(
        max_digits=20, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    used = serializers.DecimalField(max_digits=22, decimal_places=8, coerce_to_string=False)
    percent = serializers.IntegerField(allow_null=True)
    exhausted = serializers.BooleanField()
    resets_at = serializers.DateTimeField()


class MonthUsageSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    plan = serializers.ChoiceField(choices=list(PLANS))
    ai = AIUsageSerializer()
    whatsapp = WhatsAppUsageSerializer()
    caps = CapSerializer(many=True)


class BudgetSerializer(serializers.Serializer):
    """The owner's budget of the organization's own key (null = no cap)."""

    ai_cost_cap_usd = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, allow_null=True, coerce_to_string=False
    )
    ai_token_cap = serializers.IntegerField(min_value=0, max_value=2**62, allow_null=True)
    ai_use_priority = serializers.ChoiceField(
        choices=AIUsePriority.choices,
        required=False,
        help_text="Enterprise only: which key goes first.",
    )


class PlanSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(choices=list(PLANS))
    label = serializers.CharField()
    includes = serializers.ListField(child=serializers.CharField())
    backup_key = serializers.BooleanField()
    platform_key = serializers.BooleanField()
    ai_use_priority = serializers.ChoiceField(choices=AIUsePriority.choices)
    ai_cost_cap_usd = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, coerce_to_string=False
    )
    ai_token_cap = serializers.IntegerField(allow_null=True)
    platform_ai_cost_cap_usd = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, coerce_to_string=False
    )
    platform_ai_token_cap = serializers.IntegerField(allow_null=True)

    def to_representation(self, organization):
        spec = plan_for(organization)
        return super().to_representation(
            {
                "plan": spec.id,
                "label": spec.label,
                "includes": spec.includes(),
                "backup_key": spec.backup_key,
                "platform_key": spec.platform_key,
                "ai_use_priority": organization.ai_use_priority,
                "ai_cost_cap_usd": organization.ai_cost_cap_usd,
                "ai_token_cap": organization.ai_token_cap,
                "platform_ai_cost_cap_usd": organization.platform_ai_cost_cap_usd,
                "platform_ai_token_cap": organization.platform_ai_token_cap,
            }
        )
