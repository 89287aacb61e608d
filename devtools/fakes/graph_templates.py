"""The message-template side of the fake Graph API (see devtools/fakes/graph.py): each WABA's
templates, listed with Graph's cursor paging, submitted for review, sent as `type: "template"`
messages with Meta's errors, and the template webhooks Meta would deliver, signed with the app
secret as Meta signs them.

    fake.add_template("sunday_service", body="Hello {{1}}, see you on {{2}}!")
    payload = fake.set_template_status("sunday_service", "en_US", "APPROVED")
    body, headers = signed_webhook(payload, app_secret)   # for a test client to post
    deliver_webhook(url, payload, app_secret)             # or to a running app
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

# Meta's rules for a template submission (error code 100 with these subcodes).
_NAME = re.compile(r"[a-z0-9_]{1,512}")
_VARIABLE = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
BODY_MAX = 1024
_ids = itertools.count(1_130_000_000_000_001)


def new_template_id() -> str:
    return str(next(_ids))


def template(
    name: str,
    *,
    language: str = "en_US",
    body: str = "Hello {{1}}, our Sunday service starts at {{2}}. See you there!",
    status: str = "APPROVED",
    category: str = "MARKETING",
    template_id: str = "",
    parameter_format: str | None = None,
    quality: str = "GREEN",
    header: dict | None = None,
) -> dict[str, Any]:
    """A template as Graph lists it."""
    variables = _VARIABLE.findall(body)
    named = parameter_format == "NAMED" or any(not v.isdigit() for v in variables)
    component: dict[str, Any] = {"type": "BODY", "text": body}
    if variables and named:
        component["example"] = {
            "body_text_named_params": [{"param_name": v, "example": v.title()} for v in variables]
        }
    elif variables:
        component["example"] = {"body_text": [[f"example {v}" for v in variables]]}
    components = ([header] if header else []) + [component]
    return {
        "id": template_id or new_template_id(),
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "components": components,
        "parameter_format": "NAMED" if named else "POSITIONAL",
        "quality_score": {"score": quality, "date": int(time.time())},
        "rejected_reason": "NONE",
    }


def body_variables(item: dict[str, Any]) -> list[str]:
    for component in item.get("components", []):
        if component.get("type") == "BODY":
            found: list[str] = []
            for name in _VARIABLE.findall(component.get("text", "")):
                if name not in found:
                    found.append(name)
            return found
    return []


def list_page(
    templates: list[dict[str, Any]], query: dict[str, list[str]], *, base_url: str, max_size: int
) -> dict[str, Any]:
    """One page of `GET /{waba-id}/message_templates`, with `paging.next` a full URL to the
    next page (carrying the access token in its query, as Graph's does)."""
    limit = min(int(query.get("limit", ["25"])[0]), max_size)
    start = _cursor_value(query["after"][0]) if "after" in query else 0
    fields = query.get("fields", [""])[0].split(",")
    page = templates[start : start + limit]
    data = [{k: v for k, v in item.items() if k in fields or k == "id"} for item in page]
    payload: dict[str, Any] = {"data": data}
    if page:
        end = start + len(page)
        payload["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
        if end < len(templates):
            next_query = {
                "access_token": query.get("access_token", ["EAAG-token-in-next"])[0],
                "fields": ",".join(fields),
                "limit": str(limit),
                "after": _cursor(end),
            }
            payload["paging"]["next"] = f"{base_url}?{urlencode(next_query)}"
    return payload


def _cursor(position: int) -> str:
    return "QVFIU" + format(position, "08x")


def _cursor_value(cursor: str) -> int:
    return int(cursor.removeprefix("QVFIU"), 16)


def submission_error(
    templates: list[dict[str, Any]], body: Any
) -> tuple[int, str, str, str] | None:
    """(subcode, message, user title, user message) for a submission Meta would refuse."""
    if not isinstance(body, dict) or not isinstance(body.get("components"), list):
        return (2388040, "Invalid parameter", "Missing components", "Add a body component.")
    name, language = body.get("name"), body.get("language")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return (
            2388042,
            "Invalid parameter",
            "Invalid template name",
            "Template names may only contain lowercase letters, numbers and underscores.",
        )
    if body.get("category") not in CATEGORIES:
        return (2388045, "Invalid parameter", "Invalid category", "Choose a valid category.")
    if any(t["name"] == name and t["language"] == language for t in templates):
        return (
            2388024,
            "Invalid parameter",
            "Content in This Language Already Exists",
            f"There is already {language} content for this template. You can create a new "
            "template and try again.",
        )
    text = next(
        (c.get("text", "") for c in body["components"] if c.get("type") == "BODY"), ""
    ).strip()
    if not text or len(text) > BODY_MAX:
        return (2388040, "Invalid parameter", "Body too long", "The body is too long or empty.")
    if _VARIABLE.match(text) or re.search(_VARIABLE.pattern + "$", text):
        return (
            2388299,
            "Invalid parameter",
            "Variables can't be at the start or end of the template",
            "Variables can't be at the start or end of the template.",
        )
    return None


def send_error(
    templates: list[dict[str, Any]], message: dict[str, Any]
) -> tuple[int, str, str] | None:
    """(code, title, details) for a template send Meta would refuse, or None."""
    spec = message.get("template")
    if not isinstance(spec, dict) or not isinstance(spec.get("language"), dict):
        return (131008, "Required parameter is missing", "template.language is missing")
    name, language = spec.get("name"), spec["language"].get("code")
    found = next((t for t in templates if t["name"] == name and t["language"] == language), None)
    if found is None or found["status"] != "APPROVED":
        return (
            132001,
            "Template name does not exist in the translation",
            f"template name ({name}) does not exist in {language}",
        )
    expected = body_variables(found)
    given = [
        p
        for c in spec.get("components") or []
        if isinstance(c, dict) and c.get("type") == "body"
        for p in c.get("parameters") or []
    ]
    if len(given) != len(expected):
        return (
            132000,
            "Number of parameters does not match the expected number of params",
            f"body: number of localizable_params ({len(given)}) does not match the expected "
            f"number of params ({len(expected)})",
        )
    if found["parameter_format"] == "NAMED" and {p.get("parameter_name") for p in given} != set(
        expected
    ):
        return (
            132012,
            "Parameter format does not match format in the created template",
            "body: named parameters do not match the template's parameter names",
        )
    return None


# -- webhooks --------------------------------------------------------------------------------


def template_webhook(waba_id: str, field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A webhook delivery as Meta sends it for one change of a template field."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "time": int(time.time()), "changes": [{"value": value, "field": field}]}
        ],
    }


def template_identity(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_template_id": int(item["id"]),
        "message_template_name": item["name"],
        "message_template_language": item["language"],
    }


def signed_webhook(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery, signed as Meta signs it (HMAC-SHA256 of the raw
    body with the app secret)."""
    body = json.dumps(payload).encode()
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def deliver_webhook(url: str, payload: dict[str, Any], app_secret: str, timeout: float = 10) -> int:
    """POSTs a signed delivery to a running app's webhook URL; returns the HTTP status."""
    body, headers = signed_webhook(payload, app_secret)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
