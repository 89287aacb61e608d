"""The OpenAPI contract: the schema is served and valid, documents every API URL with its
headers and error responses, and its Swagger UI loads nothing from another site."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from organizations.permissions import (
    IsManagerOrReadOnly,
    IsOrganizationManager,
    IsOrganizationMember,
)

SCHEMA_URL = "/api/schema/"
DOCS_URL = "/api/docs/"
# Not API operations: the schema and its viewer.
UNDOCUMENTED = {SCHEMA_URL, DOCS_URL}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ORGANIZATION_PERMISSIONS = (IsOrganizationMember, IsOrganizationManager, IsManagerOrReadOnly)


@pytest.fixture(scope="module")
def schema():
    response = APIClient().get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def api_views():
    """(OpenAPI path, view class) for every URL under /api/, found by walking the URLconf."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and route.startswith("api/"):
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                found.append((path, getattr(entry.callback, "view_class", None)))

    walk(get_resolver().url_patterns, "")
    return found


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


# --- the schema ------------------------------------------------------------------------------


def test_it_serves_a_valid_openapi_3_schema(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on anything the OpenAPI 3 meta-schema refuses
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_it_also_serves_the_schema_as_yaml():
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"openapi: 3." in response.content


def test_it_generates_the_schema_without_warnings_or_errors(tmp_path):
    # A view without annotations makes drf-spectacular guess, warn and drop it: this fails then.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )


def test_it_documents_every_api_url_and_method(schema):
    views = [(path, view) for path, view in api_views() if path not in UNDOCUMENTED]
    assert len(views) >= 15
    for path, view in views:
        assert path in schema["paths"], f"{path} is not in the OpenAPI schema"
        methods = {m for m in HTTP_METHODS if view is not None and hasattr(view, m)}
        documented = set(schema["paths"][path]) & set(HTTP_METHODS)
        assert methods == documented, f"{path}: view has {methods}, schema has {documented}"


def test_it_documents_request_and_response_bodies(schema):
    for path, method, operation in operations(schema):
        name = f"{method.upper()} {path}"
        if method in ("post", "put", "patch"):
            body = operation.get("requestBody", {}).get("content", {})
            # JSON, or a multipart form for file uploads.
            assert {"application/json", "multipart/form-data"} & set(body), (
                f"{name} has no request body schema"
            )
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{name} documents no success response"
        for status, response in successes.items():
            if status not in ("204", "205"):
                # JSON, or a CSV download (the superusers' usage export).
                content = set(response.get("content", {}))
                assert {"application/json", "text/csv"} & content, (name, status)


def test_it_documents_the_error_body_for_every_error_status(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]) == {"error", "error_code", "fields"}
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
                assert "error" in component["required"], (method, path, status, ref)


def test_it_documents_authentication_and_the_organization_header(schema):
    views = dict(api_views())
    for path, method, operation in operations(schema):
        name = f"{method.upper()} {path}"
        view = views[path]
        responses = operation["responses"]
        header_names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        if view.authentication_classes and {"jwtAuth": []} in operation.get("security", []):
            assert "401" in responses, f"{name} does not document 401"
        acts_for_organization = any(
            issubclass(p, ORGANIZATION_PERMISSIONS) for p in view.permission_classes
        )
        if acts_for_organization:
            assert "X-Organization" in header_names, f"{name} does not document X-Organization"
            for status in ("400", "401", "403", "404"):
                assert status in responses, f"{name} does not document {status}"
        else:
            assert "X-Organization" not in header_names, name


def test_it_documents_throttled_and_upstream_failures_where_they_happen(schema):
    paths = schema["paths"]
    for path in ("/api/settings/ai-config", "/api/settings/whatsapp-meta"):
        assert "429" in paths[path]["put"]["responses"]
        assert "429" in paths[path + "/test"]["post"]["responses"]
    for path in ("/api/messages/generate", "/api/messages/send"):
        assert {"409", "429", "502"} <= set(paths[path]["post"]["responses"])


# --- Swagger UI --------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.urls.append(attrs["src"])
            else:
                self._in = "script"
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "style":
            self._in = "style"

    def handle_data(self, data):
        if self._in == "script" and data.strip():
            self.inline_scripts += 1
        if self._in == "style" and data.strip():
            self.inline_styles += 1

    def handle_endtag(self, tag):
        self._in = None


def test_it_serves_swagger_ui_from_local_assets_only():
    response = APIClient().get(DOCS_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "https://" not in page and "http://" not in page and "//cdn" not in page
    assets = _Assets()
    assets.feed(page)
    assert assets.inline_scripts == 0 and assets.inline_styles == 0
    scripts = [u for u in assets.urls if u.endswith(".js")]
    assert len(scripts) == 2, assets.urls  # swagger-ui-bundle.js, standalone preset
    for url in assets.urls:
        assert url.startswith("/"), url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not a local file"


def test_it_serves_the_swagger_init_script_as_a_file():
    # The page loads its init script from /api/docs/?script= (no inline script for the CSP).
    page = APIClient().get(DOCS_URL).content.decode()
    src = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', page).group(1)
    response = APIClient().get(src.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert SCHEMA_URL in response.content.decode()
