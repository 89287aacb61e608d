"""Error pages: JSON under /api/ (the frontend parses it), the site's own pages elsewhere."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                {"error": "The request body is too large.", "error_code": "request_too_large"},
                status=413,
            )
        return JsonResponse(
            {"error": "The request is not valid.", "error_code": "bad_request"}, status=400
        )
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"error": "Not found.", "error_code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {
                "error": "Something went wrong on our side. It was logged; try again later.",
                "error_code": "server_error",
            },
            status=500,
        )
    return defaults.server_error(request)
