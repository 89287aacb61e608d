"""Answers a request refused for a passing reason (the shared cache is down, too many outbound
calls at once) with its status and Retry-After: JSON under /api/, a short page elsewhere.
DRF views answer these themselves (common/api_errors.py); this covers the pages."""

from django.http import JsonResponse
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
