"""Every API error is JSON with a human-readable `error` (and `fields` for input errors)."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.errors import ServiceError


def error_response(message: str, *, status_code: int, code: str | None = None, **extra) -> Response:
    body = {"error": message}
    if code:
        body["error_code"] = code
    body.update(extra)
    return Response(body, status=status_code)


def service_error_body(exc: ServiceError, **extra) -> dict:
    """A refused request as the API answers it: `extra`, then `{error, error_code, fields?}`."""
    body = {**extra, **exc.details, "error": exc.message, "error_code": exc.code}
    if exc.field:
        body["fields"] = {exc.field: [exc.message]}
    return body


def service_error_response(exc: ServiceError, *, status_code: int | None = None, **extra):
    response = Response(service_error_body(exc, **extra), status=status_code or exc.status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(int(retry_after))
    return response


def _first_message(data) -> str:
    if isinstance(data, dict):
        for value in data.values():
            return _first_message(value)
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


# An error message may quote the input (DRF: '"…" is not a valid choice.'): at most this much.
MAX_MESSAGE_CHARS = 300
TOO_LARGE_MESSAGE = "The request body is too large."


def _shortened(data):
    if isinstance(data, dict):
        return {key: _shortened(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_shortened(value) for value in data]
    if isinstance(data, str) and len(data) > MAX_MESSAGE_CHARS:
        return exceptions.ErrorDetail(
            data[: MAX_MESSAGE_CHARS - 1] + "…", code=getattr(data, "code", None)
        )
    return data


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(TOO_LARGE_MESSAGE, status_code=413, code="request_too_large")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = _shortened(response.data)
        if isinstance(data, dict):
            non_field = data.pop("non_field_errors", None)
            message = _first_message(non_field) if non_field else "Some fields are not valid."
            body = {"error": message, "error_code": "invalid_input"}
            if data:
                body["fields"] = data
        else:
            body = {"error": _first_message(data), "error_code": "invalid_input"}
        response.data = body
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        code = getattr(detail, "code", None) or getattr(exc, "default_code", None)
        response.data = {"error": str(detail), "error_code": str(code) if code else None}
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            response.data["error_code"] = "throttled"
    return response
