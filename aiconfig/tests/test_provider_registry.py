"""Provider quirks live in the registry as data; the clients only read them."""

import pytest

from aiconfig import clients
from aiconfig.providers import PROVIDERS, Family, KeyCheck, get_provider

OPENAI_COMPATIBLE = [spec.id for spec in PROVIDERS.values() if spec.family == Family.OPENAI]
# OpenAI's 401 for a restricted key: an error object whose code is null.
NULL_CODE_401 = {"error": {"message": "Missing scopes", "type": "invalid_request_error"}}


@pytest.mark.parametrize("provider", OPENAI_COMPATIBLE)
def test_it_reads_a_null_code_401_as_a_restricted_key_only_from_openai(provider):
    expected = "permission_denied" if provider == "openai" else "invalid_api_key"
    assert clients.classify(get_provider(provider), 401, NULL_CODE_401) == expected


def test_it_gives_every_provider_a_client_and_a_known_key_check():
    for spec in PROVIDERS.values():
        assert spec.family in clients._FAMILIES, spec.id
        assert isinstance(spec.key_check, KeyCheck), spec.id
