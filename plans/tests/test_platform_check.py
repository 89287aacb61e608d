"""`check --deploy` validates the platform's managed AI key when the operator gives one."""

import pytest

from aiconfig.checks import check_platform_ai_key

KEY = "sk-proj-PLATFORMkeyOPENAI0123456789abcdPLTF"


def ids(settings, **values):
    for name in ("PROVIDER", "API_KEY", "MODEL", "BASE_URL"):
        setattr(settings, f"PLATFORM_AI_{name}", values.get(name.lower(), ""))
    return [e.id for e in check_platform_ai_key(None)]


def test_it_accepts_no_platform_key_or_a_complete_one(settings):
    assert ids(settings) == []
    assert ids(settings, provider="openai", api_key=KEY, model="gpt-4o-mini") == []
    assert (
        ids(settings, provider="custom", api_key=KEY, base_url="https://llm.example.org/v1") == []
    )


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"provider": "skynet", "api_key": KEY}, "aiconfig.E001"),
        ({"provider": "openai"}, "aiconfig.E002"),
        ({"provider": "openai", "api_key": "sk with space"}, "aiconfig.E003"),
        ({"provider": "openai", "api_key": KEY, "model": "gpt 4"}, "aiconfig.E004"),
        ({"provider": "custom", "api_key": KEY}, "aiconfig.E005"),
        ({"provider": "custom", "api_key": KEY, "base_url": "ftp://x"}, "aiconfig.E006"),
        (
            {"provider": "custom", "api_key": KEY, "base_url": "http://llm.example.org"},
            "aiconfig.E007",
        ),
    ],
)
def test_it_reports_what_is_wrong_without_repeating_the_key(settings, values, expected):
    assert expected in ids(settings, **values)
    for error in check_platform_ai_key(None):
        assert KEY not in error.msg and KEY not in (error.hint or "")
