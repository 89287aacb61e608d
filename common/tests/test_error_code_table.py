"""The README's table of error codes (section "Error codes") lists every `error_code` the API
can answer: the codes written in our source (read from it, so a new one cannot be forgotten),
the classified answers of AI providers and Meta that refusals carry, and the codes of DRF and
simplejwt that reach our error bodies."""

import ast
import re
from pathlib import Path

import pytest
from rest_framework import exceptions as drf_exceptions

from aiconfig.clients import ERROR_MESSAGES as PROVIDER_ERROR_MESSAGES
from common.http import OUTBOUND_ERROR_CODES
from conftest import api_client
from organizations.models import User
from whatsapp.graph import GRAPH_ERROR_MESSAGES

BASE_DIR = Path(__file__).resolve().parents[2]
APPS = (
    "aiconfig",
    "common",
    "config",
    "messaging",
    "organizations",
    "plans",
    "settings_page",
    "whatsapp",
)
CODE = re.compile(r"[a-z]+(?:_[a-z]+)*")
# Calls that take a `code=` which never becomes an error_code (a form field's error code: the
# API answers every input error as `invalid_input`).
NOT_ERROR_CODES = {"ValidationError"}


def readme_table_codes() -> set[str]:
    """The codes in the first column of the table under "### Error codes"."""
    text = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    assert "### Error codes" in text
    section = re.split(r"\n##+ ", text.split("### Error codes", 1)[1], maxsplit=1)[0]
    codes = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            codes |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return codes


def _string(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if CODE.fullmatch(node.value):
            return node.value
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _codes_in(node) -> list[str]:
    """The error codes this node writes: `code="…"` given to a call (ServiceError and its
    kind, error_body, error_response), a `code="…"` parameter default (a ServiceError
    subclass's), `"error_code": "…"` in a dict, and constants such as LOCKED_OUT_CODE or a
    DRF exception's default_code."""
    if isinstance(node, ast.Call) and _call_name(node) not in NOT_ERROR_CODES:
        return [_string(k.value) for k in node.keywords if k.arg == "code"]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        positional = args.posonlyargs + args.args
        pairs = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        return [_string(default) for arg, default in pairs if arg.arg == "code"]
    if isinstance(node, ast.Dict):
        return [
            _string(v)
            for k, v in zip(node.keys, node.values, strict=True)
            if _string(k) == "error_code"
        ]
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if any(name.endswith("_CODE") or name == "default_code" for name in names):
            return [_string(node.value)]
    return []


def source_codes() -> dict[str, str]:
    """code -> where it is first written, in every module of the apps but tests and
    migrations."""
    found = {}
    for app in APPS:
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            if {"tests", "migrations"} & set(path.relative_to(BASE_DIR).parts):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                for code in filter(None, _codes_in(node)):
                    where = f"{path.relative_to(BASE_DIR)}:{node.lineno}"
                    found.setdefault(code, where)
    return found


def classified_codes() -> set[str]:
    """What a refusal by an AI provider or Meta carries (key tests and saves, drafts, sends,
    template submissions)."""
    return set(PROVIDER_ERROR_MESSAGES) | set(GRAPH_ERROR_MESSAGES) | set(OUTBOUND_ERROR_CODES)


def drf_codes() -> set[str]:
    """DRF's exceptions as our handler answers them (a ValidationError is `invalid_input`)."""
    return {
        cls.default_code
        for cls in vars(drf_exceptions).values()
        if isinstance(cls, type)
        and issubclass(cls, drf_exceptions.APIException)
        and cls not in (drf_exceptions.APIException, drf_exceptions.ValidationError)
    }


def test_it_finds_the_codes_written_every_way():
    """The scan itself works: each way of writing a code is seen."""
    found = source_codes()
    for code in (
        "budget_exhausted",  # super().__init__(…, code=…) in a ServiceError subclass
        "invalid",  # ServiceError's own default
        "permission_denied",  # NotAllowed's default
        "duplicate_phone",  # ServiceError(…, code=…)
        "locked_out",  # LOCKED_OUT_CODE
        "mfa_required",  # MFA_REQUIRED_CODE, an AuthenticationFailed's default_code
        "bad_request",  # error_body(…, code=…) / {"error_code": …}
        "request_too_large",
    ):
        assert code in found, code
    assert {"spam_limited", "insufficient_quota", "timeout"} <= classified_codes()
    assert {"not_acceptable", "parse_error", "not_authenticated"} <= drf_codes()


def test_it_lists_every_error_code_of_the_source_in_the_readme_table():
    missing = {
        code: where for code, where in source_codes().items() if code not in readme_table_codes()
    }
    assert not missing, f"add these to the README's error code table: {missing}"


def test_it_lists_every_classified_provider_and_meta_code_in_the_readme_table():
    missing = sorted(classified_codes() - readme_table_codes())
    assert not missing, f"add these to the README's error code table: {missing}"


def test_it_lists_every_drf_code_in_the_readme_table():
    missing = sorted(drf_codes() - readme_table_codes())
    assert not missing, f"add these to the README's error code table: {missing}"


@pytest.mark.django_db
def test_it_lists_the_codes_real_refused_requests_get(team):
    """Authentication refused every way (simplejwt's own codes included, whatever they become)
    and DRF's content negotiation, as real requests get them."""
    gone = User.objects.create_user(email="gone@grace.test", password="x-Passw0rd-x")
    gone_client = api_client(gone)
    gone.delete()
    inactive = User.objects.create_user(email="idle@grace.test", password="x-Passw0rd-x")
    inactive_client = api_client(inactive)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    responses = [
        api_client().get("/api/me", HTTP_AUTHORIZATION="Bearer two parts"),
        api_client().get("/api/me", HTTP_AUTHORIZATION="Bearer not-a-jwt"),
        gone_client.get("/api/me"),
        inactive_client.get("/api/me"),
        api_client().get("/api/me"),
        api_client(team.member).get("/api/me", HTTP_ACCEPT="text/html"),
    ]
    assert [r.status_code for r in responses] == [401] * 5 + [406]
    answered = {response.json()["error_code"] for response in responses}
    assert "not_acceptable" in answered
    missing = sorted(answered - readme_table_codes())
    assert not missing, f"add these to the README's error code table: {missing}"
