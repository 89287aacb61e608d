"""`manage.py check` (and `--deploy`) refuses plan settings that would break every plan
lookup or every budget warning."""

import pytest
from django.core import checks

from plans.checks import check_plan_settings


def ids(settings, **values):
    for name, value in values.items():
        setattr(settings, name, value)
    return [e.id for e in check_plan_settings(None)]


def test_it_accepts_the_default_settings(settings):
    assert ids(settings) == []
    assert ids(settings, DEFAULT_PLAN="enterprise", BUDGET_WARNING_RATIO=1) == []


def test_it_refuses_a_default_plan_that_is_not_a_plan(settings):
    assert ids(settings, DEFAULT_PLAN="gold") == ["plans.E001"]
    [error] = check_plan_settings(None)
    assert "'gold'" in error.msg and "free, pro, enterprise" in error.hint


@pytest.mark.parametrize("ratio", [0, -0.5, 1.01, 80, True, "0.8", None])
def test_it_refuses_a_warning_ratio_outside_zero_to_one(settings, ratio):
    assert ids(settings, BUDGET_WARNING_RATIO=ratio) == ["plans.E002"]


def test_it_is_registered_with_djangos_checks(settings):
    settings.DEFAULT_PLAN = "gold"
    assert "plans.E001" in [e.id for e in checks.run_checks()]
