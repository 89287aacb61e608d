"""System checks of the plans settings (run by every `manage.py check`, `--deploy` too): a wrong
value here would break every plan lookup or every budget warning, not only production."""

from django.conf import settings
from django.core.checks import Error, register

from plans.registry import PLANS


@register()
def check_plan_settings(app_configs, **kwargs):
    errors = []
    if settings.DEFAULT_PLAN not in PLANS:
        errors.append(
            Error(
                f"DEFAULT_PLAN {settings.DEFAULT_PLAN!r} is not one of the plans: new "
                "organizations would get a plan that does not exist, and every lookup of it "
                "would fail.",
                hint=f"Use one of: {', '.join(PLANS)}.",
                id="plans.E001",
            )
        )
    ratio = settings.BUDGET_WARNING_RATIO
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        errors.append(
            Error(
                f"BUDGET_WARNING_RATIO {ratio!r} is not a share of a cap between 0 and 1: the "
                "warning emails would never go out (above 1) or go out at once (0 or below).",
                hint="Use e.g. 0.8 to warn owners and admins at 80 % of a cap.",
                id="plans.E002",
            )
        )
    return errors
