"""Error pages: JSON under /api/ (the frontend parses it), the site's own pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


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
