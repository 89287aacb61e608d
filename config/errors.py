"""Error pages: JSON under /api/ (the frontend parses it), the site's own pages elsewhere."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults

from common.api_errors import TOO_LARGE_MESSAGE, error_body


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(message, code=code), status=status)


def bad_request(request, exception):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _json(TOO_LARGE_MESSAGE, "request_too_large", 413)
        return _json("The request is not valid.", "bad_request", 400)
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    if _is_api(request):
        return _json("Not found.", "not_found", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return _json(
            "Something went wrong on our side. It was logged; try again later.", "server_error", 500
        )
    return defaults.server_error(request)
