"""The error bodies the API returns are the ones its OpenAPI schema documents: each
representative refusal validates against the component its operation names for that status
(or the plain `Error` where no operation is involved), with no key the component lacks."""

import json

import pytest
from django.test import override_settings
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from common.api_errors import error_body
from common.api_schema import ErrorSerializer
from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from organizations.lockout import locked_out_api_response
from plans.tests.conftest import set_plan, store_key

pytestmark = pytest.mark.django_db

REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture(scope="module")
def schema():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema says it (the rest is the same)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def documented(schema, path, method, status) -> str:
    """The component the schema names for this operation's `status` answer."""
    response = schema["paths"][path][method]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def assert_valid(schema, component, response_or_body, status=None):
    if status is not None:
        assert response_or_body.status_code == status, response_or_body.content[:300]
        body = response_or_body.json()
    else:
        body = response_or_body
    components = _json_schema(schema["components"]["schemas"])
    root = {"$ref": f"#/components/schemas/{component}", "components": {"schemas": components}}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [error.message for error in validator.iter_errors(body)]
    assert not errors, (component, body, errors)
    assert set(body) <= set(components[component]["properties"]), (component, body)
    return body


def test_it_documents_input_errors_with_their_fields(schema, team):
    response = api_client(team.member).post("/api/messages/generate", {}, format="json")
    body = assert_valid(
        schema, documented(schema, "/api/messages/generate", "post", 400), response, 400
    )
    assert body["error_code"] == "invalid_input" and "prompt" in body["fields"]


def test_it_documents_authentication_role_and_organization_errors(schema, team):
    anonymous = APIClient().get("/api/me")
    assert_valid(schema, documented(schema, "/api/me", "get", 401), anonymous, 401)
    member = api_client(team.member).put("/api/settings/ai-config", {}, format="json")
    assert_valid(schema, documented(schema, "/api/settings/ai-config", "put", 403), member, 403)
    elsewhere = api_client(team.member, org="hope-chapel").get("/api/messages/usage")
    assert_valid(schema, documented(schema, "/api/messages/usage", "get", 404), elsewhere, 404)


def test_it_documents_an_exhausted_budget_with_its_cap_and_reset(schema, team, fake_providers):
    store_key(team.org)
    set_plan(team.org, "free", ai_token_cap=0)
    response = api_client(team.member).post(
        "/api/messages/generate", {"prompt": "Sunday service"}, format="json"
    )
    component = documented(schema, "/api/messages/generate", "post", 402)
    assert component == "BudgetExhaustedError"
    body = assert_valid(schema, component, response, 402)
    assert body["cap"] == "ai_token_cap" and body["resets_at"]


def test_it_documents_a_key_the_provider_refused(schema, team, fake_providers):
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"][:-4] + "XXXX"}
    response = api_client(team.owner).put("/api/settings/ai-config", payload, format="json")
    component = documented(schema, "/api/settings/ai-config", "put", 400)
    body = assert_valid(schema, component, response, 400)
    assert body["success"] is False and body["provider"] == "openai"
    assert body["error_code"] == "invalid_api_key"


def test_it_documents_a_template_meta_refused_with_metas_reason(schema, team, fake_graph):
    connected = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": "5f4e3d2c1b0a99887766554433221100",
        },
        format="json",
    )
    assert connected.status_code == 200, connected.content
    fake_graph.add_template("prayer_meeting")  # made at Meta, not synced yet
    template = {
        "name": "prayer_meeting",
        "language": "en_US",
        "category": "MARKETING",
        "body": "Hello {{1}}, join our prayer meeting on {{2}} at the church hall. God bless!",
        "examples": ["Maria", "Wednesday"],
    }
    response = api_client(team.owner).post("/api/whatsapp/templates", template, format="json")
    component = documented(schema, "/api/whatsapp/templates", "post", 400)
    body = assert_valid(schema, component, response, 400)
    assert body["error_code"] == "template_exists" and body["meta_reason"]


def test_it_documents_throttled_requests(schema, team, fake_providers, settings):
    settings.AI_KEY_TEST_RATE = "1/min"
    payload = {"provider": "openai", "api_key": VALID_KEYS["openai"]}
    client = api_client(team.owner)
    client.post("/api/settings/ai-config/test", payload, format="json")
    response = client.post("/api/settings/ai-config/test", payload, format="json")
    component = documented(schema, "/api/settings/ai-config/test", "post", 429)
    assert assert_valid(schema, component, response, 429)["error_code"] == "throttled"


def test_it_answers_outside_any_view_with_the_plain_error(schema, team):
    # config/errors.py, the middleware, the login lockout and a cache outage.
    assert_valid(schema, "Error", APIClient().get("/api/no-such-thing"), 404)
    assert_valid(schema, "Error", APIClient().get("/api/me", {"q": "a\x00b"}), 400)
    locked = locked_out_api_response()
    assert locked.status_code == 429
    assert assert_valid(schema, "Error", json.loads(locked.content))["error_code"] == "locked_out"
    with override_settings(CACHES=REDIS_DOWN):
        response = api_client(team.owner).post(
            "/api/settings/ai-config/test", {"provider": "openai"}, format="json"
        )
    assert assert_valid(schema, "Error", response, 503)["error_code"] == "temporarily_unavailable"


def test_it_refuses_to_build_a_body_with_a_key_its_serializer_does_not_declare():
    assert error_body("No.", code="invalid") == {"error": "No.", "error_code": "invalid"}
    with pytest.raises(ValueError, match="meta_reason"):
        error_body("No.", code="invalid", serializer=ErrorSerializer, meta_reason="Because")
