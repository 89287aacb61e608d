"""Answers a request refused for a passing reason (the shared cache is down, too many outbound
calls at once) with its status and Retry-After: JSON under /api/, a short page elsewhere.
DRF views answer these themselves (common/api_errors.py); this covers the pages."""

from django.http import HttpResponseBadRequest, HttpResponseNotFound, JsonResponse
from django.shortcuts import render

from common.errors import ServiceError


class RetryLaterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        retry_after = getattr(exception, "retry_after", None)
        if not isinstance(exception, ServiceError) or not retry_after:
            return None
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"error": exception.message, "error_code": exception.code},
                status=exception.status,
            )
        else:
            response = render(
                request,
                "retry_later.html",
                {"message": exception.message},
                status=exception.status,
            )
        response["Retry-After"] = str(int(retry_after))
        return response


class RejectNulMiddleware:
    """A NUL byte in the address is never meant: answered before any view can pass it to the
    database (PostgreSQL refuses NUL in text, a 500). In the path it names nothing (404); in
    the query string it is a bad request (400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith("/api/")
        if "\x00" in request.path:
            if api:
                return JsonResponse({"error": "Not found.", "error_code": "not_found"}, status=404)
            return HttpResponseNotFound("Not found.", content_type="text/plain")
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if api:
                return JsonResponse(
                    {"error": "The address is not valid.", "error_code": "bad_request"},
                    status=400,
                )
            return HttpResponseBadRequest("The address is not valid.", content_type="text/plain")
        return self.get_response(request)
