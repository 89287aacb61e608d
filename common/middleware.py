"""Answers a request refused for a passing reason (the shared cache is down, too many outbound
calls at once) with its status and Retry-After: JSON under /api/, a short page elsewhere.
DRF views answer these themselves (common/api_errors.py); this covers the pages, and code of
libraries that counts in the cache (allauth's rate limits) when Redis does not answer."""

from django.http import HttpResponseBadRequest, HttpResponseNotFound, JsonResponse
from django.shortcuts import render

from common.api_errors import as_service_error, error_body, retry_after_seconds, service_error_body


class RetryLaterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        refusal = as_service_error(exception)
        retry_after = retry_after_seconds(refusal)
        if refusal is None or not retry_after:
            return None
        if request.path.startswith("/api/"):
            response = JsonResponse(service_error_body(refusal), status=refusal.status)
        else:
            response = render(
                request,
                "retry_later.html",
                {"message": refusal.message},
                status=refusal.status,
            )
        response["Retry-After"] = str(retry_after)
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
                return JsonResponse(error_body("Not found.", code="not_found"), status=404)
            return HttpResponseNotFound("Not found.", content_type="text/plain")
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if api:
                return JsonResponse(
                    error_body("The address is not valid.", code="bad_request"), status=400
                )
            return HttpResponseBadRequest("The address is not valid.", content_type="text/plain")
        return self.get_response(request)
