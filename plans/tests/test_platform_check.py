"""`check --deploy` validates the platform's managed AI key when the operator gives one."""

import json

import pytest
from django.core.checks import Error

from aiconfig.checks import check_platform_ai_key

KEY = "sk-proj-PLATFORMkeyOPENAI0123456789abcdPLTF"


def ids(settings, **values):
    for name in ("PROVIDER", "API_KEY", "MODEL", "BASE_URL"):
        setattr(settings, f"PLATFORM_AI_{name}", values.get(name.lower(), ""))
    return [e.id for e in check_platform_ai_key(None)]


def test_it_accepts_no_platform_key_or_a_complete_one(settings):
    assert ids(settings) == []
    assert ids(settings, provider="openai", api_key=KEY, model="gpt-4o-mini") == []
    # No model: the provider's default, which the price table knows.
    assert ids(settings, provider="deepseek", api_key=KEY) == []
    assert (
        ids(
            settings,
            provider="custom",
            api_key=KEY,
            model="llama3.2",
            base_url="https://llm.example.org/v1",
        )
        == ["aiconfig.W001"]  # self-hosted: no list price, only a warning
    )


def test_it_refuses_a_hosted_platform_model_missing_from_the_price_table(settings, tmp_path):
    assert ids(settings, provider="openai", api_key=KEY, model="gpt-unpriced-test") == [
        "aiconfig.E008"
    ]
    [error] = check_platform_ai_key(None)
    assert isinstance(error, Error) and "gpt-unpriced-test" in error.msg
    assert "AI_PRICE_TABLE" in error.hint and KEY not in error.msg
    # With no PLATFORM_AI_MODEL, the provider's default model is the one checked.
    settings.OPENAI_DEFAULT_MODEL = "gpt-unpriced-test"
    assert ids(settings, provider="openai", api_key=KEY) == ["aiconfig.E008"]
    # The operator's own table that prices it clears the error.
    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps(
            {
                "version": "test",
                "models": {"openai": {"gpt-unpriced-test": {"input": "1", "output": "2"}}},
            }
        )
    )
    settings.AI_PRICE_TABLE = str(table)
    assert ids(settings, provider="openai", api_key=KEY) == []


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
