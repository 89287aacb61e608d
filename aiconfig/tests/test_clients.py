"""The provider clients against the fake providers' server."""

import logging
import time
import traceback

import pytest

from aiconfig import clients
from aiconfig.providers import PROVIDERS, default_model_for, get_provider
from devtools.fakes.providers import GEMINI_EMBEDDING_MODEL, KNOWN_MODELS, VALID_KEYS

ALL_PROVIDERS = list(PROVIDERS)
BEARER = ["openai", "deepseek", "groq", "mistral", "openrouter", "custom"]


@pytest.fixture
def fake(fake_providers, settings):
    # The custom provider's base URL is the fake server on 127.0.0.1.
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    return fake_providers


def base_url(fake, provider):
    return fake.base_urls()["CUSTOM_BASE_URL"] if provider == "custom" else None


def key_test(fake, provider, key=None, **kwargs):
    return clients.test_key(
        provider=provider,
        api_key=VALID_KEYS[provider] if key is None else key,
        base_url=base_url(fake, provider),
        **kwargs,
    )


def wrong_key(provider):
    return VALID_KEYS[provider][:-4] + "Zz9Q"


def assert_failed(result, code):
    assert (result.success, result.error_code) == (False, code)
    assert result.error == clients.ERROR_MESSAGES[code]
    assert result.response is None and result.models == []


def generation_requests(fake, provider):
    return [r for r in fake.requests_for(provider) if r.method == "POST"]


# --- a working key ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_accepts_a_valid_key_with_a_generation_and_lists_models(fake, provider):
    result = key_test(fake, provider)
    assert result.success, result.error
    assert (result.provider, result.model) == (provider, default_model_for(provider))
    assert result.response == "OK"
    assert result.models == sorted(KNOWN_MODELS[provider])
    assert result.error_code is None and result.error is None
    assert len(generation_requests(fake, provider)) == 1


def test_it_lists_only_gemini_models_that_generate_without_the_prefix(fake):
    result = key_test(fake, "gemini")
    assert GEMINI_EMBEDDING_MODEL not in result.models
    assert not any(m.startswith("models/") for m in result.models)


@pytest.mark.parametrize("provider", BEARER)
def test_it_sends_the_key_as_a_bearer_token(fake, provider):
    key_test(fake, provider)
    requests = fake.requests_for(provider)
    assert requests
    for request in requests:
        if provider == "openrouter" and request.path.endswith("/models"):
            continue  # the public model list; the key is proven by /key and generation
        assert request.headers["authorization"] == f"Bearer {VALID_KEYS[provider]}"


def test_it_sends_the_gemini_key_in_its_header_never_in_the_url(fake):
    key_test(fake, "gemini")
    requests = fake.requests_for("gemini")
    assert len(requests) == 2
    for request in requests:
        assert request.headers["x-goog-api-key"] == VALID_KEYS["gemini"]
        assert "key" not in request.query
        assert VALID_KEYS["gemini"] not in request.path
        assert "authorization" not in request.headers


def test_it_sends_the_anthropic_key_and_version_headers(fake):
    key_test(fake, "anthropic")
    requests = fake.requests_for("anthropic")
    assert len(requests) == 2
    for request in requests:
        assert request.headers["x-api-key"] == VALID_KEYS["anthropic"]
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in request.headers


def test_it_validates_openrouter_keys_with_the_key_endpoint_first(fake):
    key_test(fake, "openrouter")
    paths = [(r.method, r.path) for r in fake.requests_for("openrouter")]
    assert paths[:2] == [
        ("GET", "/openrouter/api/v1/key"),
        ("POST", "/openrouter/api/v1/chat/completions"),
    ]


def test_it_stops_at_openrouters_key_endpoint_for_a_wrong_key(fake):
    result = key_test(fake, "openrouter", key=wrong_key("openrouter"))
    assert_failed(result, "invalid_api_key")
    assert [r.path for r in fake.requests_for("openrouter")] == ["/openrouter/api/v1/key"]


def test_it_uses_the_model_chosen_and_the_default_model_setting(fake, settings):
    assert key_test(fake, "openai", model="gpt-5.5").model == "gpt-5.5"
    settings.OPENAI_DEFAULT_MODEL = "gpt-4.1-mini"
    result = key_test(fake, "openai")
    assert result.model == "gpt-4.1-mini"
    assert [r.json["model"] for r in generation_requests(fake, "openai")] == [
        "gpt-5.5",
        "gpt-4.1-mini",
    ]


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_accepts_an_empty_answer_as_a_working_key(fake, provider):
    fake.set_scenario(provider, "empty")  # a reasoning model spent the tiny budget
    result = key_test(fake, provider)
    assert result.success and result.response == ""


# --- what goes wrong, in each provider's own shapes -------------------------------------


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_an_invalid_key_in_each_providers_error_shape(fake, provider):
    assert_failed(key_test(fake, provider, key=wrong_key(provider)), "invalid_api_key")


# Gemini, Groq: no credit and rate limit share one wire shape (documented in clients.py);
# Anthropic's usual "credit balance too low" is a 400 told apart only by message text.
NO_CREDIT = {
    "openai": "insufficient_quota",
    "gemini": "rate_limited",
    "deepseek": "insufficient_quota",
    "groq": "rate_limited",
    "anthropic": "provider_error",
    "mistral": "insufficient_quota",
    "openrouter": "insufficient_quota",
    "custom": "insufficient_quota",
}


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_no_credit_although_listing_models_works(fake, provider):
    fake.set_scenario(provider, "no_credit")
    assert_failed(key_test(fake, provider), NO_CREDIT[provider])
    assert len(generation_requests(fake, provider)) == 1


def test_it_shows_listing_models_alone_would_not_catch_no_credit(fake):
    from common.http import send

    fake.set_scenario("openai", "no_credit")
    url = fake.base_urls()["OPENAI_BASE_URL"] + "/models"
    headers = {"Authorization": f"Bearer {VALID_KEYS['openai']}"}
    assert send("GET", url, timeout=2, headers=headers).status == 200
    assert_failed(key_test(fake, "openai"), "insufficient_quota")


def test_it_reports_anthropics_billing_error_as_no_credit(fake):
    fake.set_scenario("anthropic", "billing_error")
    assert_failed(key_test(fake, "anthropic"), "insufficient_quota")


@pytest.mark.parametrize("provider", ["openai", "gemini", "anthropic"])
def test_it_reports_a_restricted_key_as_permission_denied(fake, provider):
    fake.set_scenario(provider, "restricted")
    assert_failed(key_test(fake, provider), "permission_denied")


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_an_unknown_model(fake, provider):
    result = key_test(fake, provider, model="no-such-model-9")
    # DeepSeek's 400 "Model Not Exist" carries no stable field.
    assert_failed(result, "provider_error" if provider == "deepseek" else "model_not_found")


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_rate_limits(fake, provider):
    fake.set_scenario(provider, "rate_limited")
    assert_failed(key_test(fake, provider), "rate_limited")


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_provider_outages_as_provider_error(fake, provider):
    fake.set_scenario(provider, "server_error")
    assert_failed(key_test(fake, provider), "provider_error")


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
@pytest.mark.parametrize("scenario", ["garbage", "wrong_shape"])
def test_it_reports_answers_that_are_not_the_protocol_as_invalid_response(fake, provider, scenario):
    fake.set_scenario(provider, scenario)
    assert_failed(key_test(fake, provider), "invalid_response")


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_does_not_follow_redirects(fake, provider):
    fake.set_scenario(provider, "redirect")
    assert_failed(key_test(fake, provider), "invalid_response")
    assert not [r for r in fake.requests if r.path == "/redirected"]


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_reports_a_closed_port_as_unreachable(fake, settings, closed_port, provider):
    url = f"http://127.0.0.1:{closed_port}/v1"
    spec = get_provider(provider)
    if spec.base_url_setting:
        setattr(settings, spec.base_url_setting, url)
    result = clients.test_key(provider=provider, api_key=VALID_KEYS[provider], base_url=url)
    assert_failed(result, "unreachable")


@pytest.mark.slow
@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_times_out_on_a_hung_provider_within_the_bound(fake, settings, provider):
    settings.AI_PROVIDER_TIMEOUT = 0.5
    fake.set_scenario(provider, "hang")
    started = time.monotonic()
    result = key_test(fake, provider)
    elapsed = time.monotonic() - started
    assert_failed(result, "timeout")
    assert elapsed < 0.5 + 0.4


@pytest.mark.slow
@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_times_out_on_a_dripping_provider_within_the_bound(fake, settings, provider):
    settings.AI_PROVIDER_TIMEOUT = 0.5
    fake.drip_interval = 0.05  # each byte arrives well within any per-read timeout
    fake.set_scenario(provider, "drip")
    started = time.monotonic()
    result = key_test(fake, provider)
    assert_failed(result, "timeout")
    assert time.monotonic() - started < 0.5 + 0.4


@pytest.mark.slow
def test_it_keeps_the_whole_key_test_within_the_timeout_when_listing_hangs(fake, settings):
    settings.AI_PROVIDER_TIMEOUT = 1
    fake.generation_delay = 0.6
    fake.set_scenario("openai", "hang_listing")
    started = time.monotonic()
    result = key_test(fake, "openai")
    assert result.success and result.response == "OK"
    assert result.models == []  # the listing got only what was left of the budget
    assert time.monotonic() - started < 1 + 0.4


# --- the custom provider and its guard ----------------------------------------------------


def test_it_blocks_a_custom_server_on_a_private_address(fake, settings, connect_attempts):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = False
    result = key_test(fake, "custom")
    assert_failed(result, "blocked_address")
    assert fake.requests == [] and connect_attempts.targets == []


def test_it_lets_the_setting_open_private_addresses_to_the_custom_server(fake, settings):
    settings.AI_ALLOW_PRIVATE_BASE_URLS = True
    assert key_test(fake, "custom").success


def test_it_asks_for_a_base_url_for_the_custom_server(fake):
    result = clients.test_key(provider="custom", api_key="", base_url="")
    assert (result.success, result.error_code) == (False, "blocked_address")
    assert fake.requests == []


def test_it_never_puts_a_key_in_a_custom_servers_url(fake):
    key_test(fake, "custom")
    for request in fake.requests_for("custom"):
        assert VALID_KEYS["custom"] not in request.path and not request.query


# --- keys are secrets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [" sk-proj-abc", "sk-proj-abc\n", "sk-proj ab", "sk-proj-\x00abc", "sk-proj-\u200babc", "clé"],
)
def test_it_refuses_keys_with_spaces_or_control_characters_without_calling(fake, key):
    result = key_test(fake, "openai", key=key)
    assert (result.success, result.error_code) == (False, "invalid_api_key")
    assert key.strip() not in result.error
    assert fake.requests == []


def test_it_refuses_an_empty_key_for_a_hosted_provider(fake):
    result = key_test(fake, "openai", key="")
    assert (result.success, result.error_code) == (False, "invalid_api_key")
    assert fake.requests == []


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_never_shows_the_key_in_errors_or_logs(fake, settings, caplog, closed_port, provider):
    caplog.set_level(logging.DEBUG)  # urllib3's debug logs included
    key = VALID_KEYS[provider]
    outcomes = [key_test(fake, provider)]
    for scenario in ("no_credit", "server_error", "garbage", "redirect"):
        fake.set_scenario(provider, scenario)
        outcomes.append(key_test(fake, provider))
    fake.set_scenario(provider, "ok")
    errors = []
    for bad_key in (wrong_key(provider), key + " "):
        outcomes.append(key_test(fake, provider, key=bad_key))
        with pytest.raises(clients.ProviderError) as raised:
            clients.generate(
                provider=provider,
                api_key=bad_key,
                model=None,
                base_url=base_url(fake, provider),
                prompt="Hello",
            )
        errors.append(raised.value)
    spec = get_provider(provider)
    if spec.base_url_setting:
        setattr(settings, spec.base_url_setting, f"http://127.0.0.1:{closed_port}")
    with pytest.raises(clients.ProviderError) as raised:
        clients.generate(
            provider=provider,
            api_key=key,
            model=None,
            base_url=f"http://127.0.0.1:{closed_port}",
            prompt="Hello",
        )
    errors.append(raised.value)
    assert raised.value.error_code == "unreachable"

    secrets = (key, wrong_key(provider))
    for result in outcomes:
        assert not any(s in repr(result) for s in secrets)
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error) + str(error)
        assert not any(s in text for s in secrets)
    assert fake.requests  # the key did go upstream, so the logs had a chance to leak it
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert not any(s in logged for s in secrets)


# --- generate() -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_it_generates_with_the_system_prompt_and_reports_token_usage(fake, provider):
    generation = clients.generate(
        provider=provider,
        api_key=VALID_KEYS[provider],
        model=None,
        base_url=base_url(fake, provider),
        prompt="Draft a welcome message.",
        system="You write for a church.",
        max_tokens=200,
    )
    assert generation.text == "OK"
    assert generation.model == default_model_for(provider)
    assert generation.input_tokens and generation.output_tokens
    body = generation_requests(fake, provider)[0].json
    family = get_provider(provider).family
    if family == "gemini":
        assert body["systemInstruction"] == {"parts": [{"text": "You write for a church."}]}
        assert body["contents"][0]["parts"] == [{"text": "Draft a welcome message."}]
        assert body["generationConfig"]["maxOutputTokens"] == 200
    elif family == "anthropic":
        assert body["system"] == "You write for a church."
        assert body["messages"] == [{"role": "user", "content": "Draft a welcome message."}]
        assert body["max_tokens"] == 200
    else:
        assert body["messages"][0] == {"role": "system", "content": "You write for a church."}
        expected = "max_completion_tokens" if provider in ("openai", "openrouter") else "max_tokens"
        other = {"max_tokens", "max_completion_tokens"} - {expected}
        assert body[expected] == 200 and not other & body.keys()


def test_it_raises_a_classified_error_with_the_status(fake):
    with pytest.raises(clients.ProviderError) as raised:
        clients.generate(
            provider="openai",
            api_key=wrong_key("openai"),
            model=None,
            base_url=None,
            prompt="Hi",
        )
    assert (raised.value.error_code, raised.value.status) == ("invalid_api_key", 401)
    assert str(raised.value) == clients.ERROR_MESSAGES["invalid_api_key"]


def test_it_keeps_a_gemini_model_name_inside_its_path_segment(fake):
    result = key_test(fake, "gemini", model="../../../openai/v1/models?x=")
    assert_failed(result, "model_not_found")
    [request] = generation_requests(fake, "gemini")
    assert request.path.startswith("/gemini/v1beta/models/..%2F..%2F..%2Fopenai")
    assert request.path.endswith(":generateContent")
    assert fake.requests_for("openai") == []


# --- classification of shapes the fake does not produce --------------------------------


@pytest.mark.parametrize(
    "provider, status, payload, code",
    [
        ("custom", 401, {"error": "Unauthorized"}, "invalid_api_key"),
        ("custom", 404, None, "model_not_found"),
        (
            "openai",
            429,
            {"error": {"type": "insufficient_quota", "code": None}},
            "insufficient_quota",
        ),
        ("openai", 400, {"error": {"code": "unsupported_parameter"}}, "provider_error"),
        ("groq", 429, {"error": {"code": "rate_limit_exceeded"}}, "rate_limited"),
        ("openai", 302, None, "invalid_response"),
        ("openai", 503, b"not json", "provider_error"),
        ("openai", 403, None, "permission_denied"),
        ("gemini", 400, {"error": {"status": "INVALID_ARGUMENT", "details": []}}, "provider_error"),
        ("gemini", 401, {"error": {"status": "UNAUTHENTICATED"}}, "invalid_api_key"),
        ("anthropic", 529, {"error": {"type": "overloaded_error"}}, "provider_error"),
        ("anthropic", 404, {"error": {"type": "not_found_error"}}, "model_not_found"),
    ],
)
def test_it_classifies_by_status_and_stable_fields(provider, status, payload, code):
    assert clients.classify(get_provider(provider), status, payload) == code


def test_it_does_not_call_a_missing_model_a_wrong_model_outside_generation():
    spec = get_provider("openai")
    payload = {"error": {"code": "model_not_found"}}
    assert clients.classify(spec, 404, payload, phase="list") == "provider_error"


# --- token usage a database can store -----------------------------------------------------

USAGE_FIELDS = {  # family -> (input field, output field) in the provider's usage object
    "openai": ("prompt_tokens", "completion_tokens"),
    "gemini": ("promptTokenCount", "candidatesTokenCount"),
    "anthropic": ("input_tokens", "output_tokens"),
}


@pytest.mark.parametrize("provider", ["openai", "gemini", "anthropic"])
@pytest.mark.parametrize("odd", [-1, 2**31, 10**12, True, 1.5, "12"])
def test_it_reports_token_counts_that_cannot_be_stored_as_unknown(fake, provider, odd):
    input_field, output_field = USAGE_FIELDS[get_provider(provider).family]
    fake.usage_override = {input_field: odd, output_field: 2**31 - 1}
    generation = clients.generate(
        provider=provider,
        api_key=VALID_KEYS[provider],
        model=None,
        base_url=None,
        prompt="Hi",
    )
    assert generation.text == "OK"
    assert generation.input_tokens is None
    assert generation.output_tokens == 2**31 - 1  # the largest count a column holds


def test_it_keeps_a_zero_token_count(fake):
    fake.usage_override = {"prompt_tokens": 0, "completion_tokens": 0}
    generation = clients.generate(
        provider="openai", api_key=VALID_KEYS["openai"], model=None, base_url=None, prompt="Hi"
    )
    assert (generation.input_tokens, generation.output_tokens) == (0, 0)
