"""Every API error is JSON with a human-readable `error` (and `fields` for input errors),
rendered by one of the error serializers that the OpenAPI schema documents
(common/api_schema.py): `error_body` is the one way to build it, for DRF views, the error
pages, the middleware and the login lockout alike."""

import logging

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.api_schema import STATUS_SERIALIZERS, ErrorSerializer
from common.errors import ServiceError
from common.throttles import CacheUnavailable

try:  # Redis is the production cache; its errors are what "the cache is down" looks like.
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover

    class RedisError(Exception):
        """Never raised: Redis is not installed."""


logger = logging.getLogger(__name__)


def error_body(
    message: str,
    *,
    code: str | None,
    fields: dict | None = None,
    serializer: type[ErrorSerializer] = ErrorSerializer,
    **extra,
) -> dict:
    """`{**extra, error, error_code, fields?}` as `serializer` renders it. A key `serializer`
    does not declare is a mistake here (it would be missing from the schema), not dropped."""
    body = {**extra, "error": message, "error_code": code}
    if fields:
        body["fields"] = fields
    instance = serializer(body)
    undeclared = set(body) - set(instance.fields)
    if undeclared:
        raise ValueError(f"{serializer.__name__} does not declare {sorted(undeclared)}")
    return dict(instance.data)


def error_response(message: str, *, status_code: int, code: str, **extra) -> Response:
    return Response(error_body(message, code=code, **extra), status=status_code)


def service_error_body(exc: ServiceError, *, serializer=None, **extra) -> dict:
    """A refused request as the API answers it: `extra` and the error's details, then
    `{error, error_code, fields?}`, rendered by `serializer` or the one of its status."""
    serializer = serializer or STATUS_SERIALIZERS.get(exc.status, ErrorSerializer)
    fields = {exc.field: [exc.message]} if exc.field else None
    return error_body(
        exc.message,
        code=exc.code,
        fields=fields,
        serializer=serializer,
        **{**extra, **exc.details},
    )


def retry_after_seconds(exc) -> int | None:
    retry_after = getattr(exc, "retry_after", None)
    return int(retry_after) if retry_after else None


def service_error_response(exc: ServiceError, *, serializer=None, **extra) -> Response:
    response = Response(service_error_body(exc, serializer=serializer, **extra), status=exc.status)
    retry_after = retry_after_seconds(exc)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def as_service_error(exc: BaseException) -> ServiceError | None:
    """The refusal an exception stands for: a ServiceError itself, or CacheUnavailable (503 and
    Retry-After) when the cache does not answer. Code that counts in the cache (our limits,
    allauth's) would otherwise turn a Redis outage into a 500."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, RedisError):
        logger.warning("The cache does not answer (%s): answered 503", type(exc).__name__)
        return CacheUnavailable()
    return None


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
    refusal = as_service_error(exc)
    if refusal is not None:
        return service_error_response(refusal)
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
            response.data = error_body(message, code="invalid_input", fields=data)
        else:
            response.data = error_body(_first_message(data), code="invalid_input")
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        code = getattr(detail, "code", None) or getattr(exc, "default_code", None)
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            code = "throttled"
        response.data = error_body(str(detail), code=str(code) if code else None)
    return response
