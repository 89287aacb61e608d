"""`GET /healthz` for load balancers and orchestrators: 200 when this process reaches its
database and its cache, 503 otherwise. No authentication, no session, no CSRF, and exempt
from the HTTPS redirect (SECURE_REDIRECT_EXEMPT) since probes often use plain HTTP.

The answer names what failed and nothing else: no driver error text, host names or settings.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK = "ok"
UNREACHABLE = "unreachable"


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not reachable": which one is for the logs
        logger.warning("Health check: the database is unreachable (%s).", type(exc).__name__)
        return UNREACHABLE
    return OK


def cache_status() -> str:
    # A key of its own per probe: concurrent probes from other processes cannot interfere.
    key, value = f"healthz:{uuid.uuid4().hex}", "1"
    try:
        cache.set(key, value, timeout=10)
        readable = cache.get(key) == value
        cache.delete(key)
    except Exception as exc:
        logger.warning("Health check: the cache is unreachable (%s).", type(exc).__name__)
        return UNREACHABLE
    if not readable:
        logger.warning("Health check: the cache did not return what was just stored.")
        return UNREACHABLE
    return OK


@csrf_exempt
@never_cache
@require_safe
def healthz(request):
    checks = {"database": database_status(), "cache": cache_status()}
    healthy = all(status == OK for status in checks.values())
    return JsonResponse(
        {"status": OK if healthy else "error", **checks}, status=200 if healthy else 503
    )
