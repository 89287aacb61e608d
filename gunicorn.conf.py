"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py config.wsgi`.

Every value comes from an environment variable. Threaded workers (gthread): a request that
waits on a slow AI provider or Meta holds one thread, not a whole worker, so other requests
keep being answered. Capacity per instance = GUNICORN_WORKERS x GUNICORN_THREADS concurrent
requests, and as many PostgreSQL connections at most (connections are kept per thread).
"""

import os
import re

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _default_workers() -> int:
    # The classic 2 x cores + 1, capped: threads give the concurrency, and every worker is a
    # whole Django process in memory.
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def _default_bind() -> str:
    port = os.environ.get("PORT", "").strip() or "8000"
    return f"0.0.0.0:{port}"


bind = os.environ.get("GUNICORN_BIND", "").strip() or _default_bind()
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", _default_workers())
threads = _int("GUNICORN_THREADS", 8)
# Connections a worker holds at once, in flight or kept alive (gunicorn's default). gthread
# keeps alive at most worker_connections - threads idle connections, so this must stay well
# above the threads or every response says `Connection: close`. A slow provider no longer takes
# every thread: calls out are capped per process at OUTBOUND_CONCURRENCY (half the threads by
# default, common/http.py), so the other half keeps answering.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)

# A worker that stops reporting for this long is restarted. Longer than any outbound call
# (AI_PROVIDER_TIMEOUT, 15 s by default), so a slow provider never gets a worker killed.
_provider_timeout = float(os.environ.get("AI_PROVIDER_TIMEOUT", "").strip() or 15)
timeout = _int("GUNICORN_TIMEOUT", max(60, int(_provider_timeout * 2) + 10))
# On SIGTERM (deploys, scale-in), requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer that keeps connections open: keep this above nothing, below its idle
# timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers after this many requests (0 = never), spread so they do not all restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max(max_requests // 10, 0))

# Addresses of the proxies trusted to set X-Forwarded-Proto (comma-separated, "*" for any).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"

# Logs to stdout/stderr for the platform to collect.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-").strip() or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The path only (%(U)s), never the query string (a webhook verification carries its verify
# token there), the Referer, the Authorization header or the user name; %(M)s is milliseconds.
# RedactingLogger below also blanks those if someone widens the format.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# One-time keys that travel in the path: an invitation link, allauth's password reset link
# (/accounts/password/reset/key/<uidb36>-<key>/; ".../key/done/" carries none) and its email
# verification link (/accounts/confirm-email/<key>/), and Django's older reset link.
_TOKEN_PATHS = (
    (re.compile(r"^(/invitations/)[^/]+"), r"\1[redacted]"),
    (
        re.compile(r"^(/accounts/password/reset/key/(?:[0-9A-Za-z]+-)?+)(?!done(?:/|$))[^/]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"^(/accounts/confirm-email/)[^/]+"), r"\1[redacted]"),
    (re.compile(r"^(/accounts/reset/)[^/]+/[^/]+"), r"\1[redacted]/[redacted]"),
)


def redact_path(path: str) -> str:
    for pattern, replacement in _TOKEN_PATHS:
        path = pattern.sub(replacement, path)
    return path


_SECRET_ATOMS = {
    "{authorization}i",
    "{proxy-authorization}i",
    "{cookie}i",
    "{x-hub-signature-256}i",
    "{set-cookie}o",
    "{http_authorization}e",
    "{http_proxy_authorization}e",
    "{http_cookie}e",
    "{query_string}e",
    "{raw_uri}e",
}


class RedactingLogger(Logger):
    """gunicorn's logger, with one-time tokens taken out of the logged path, and the atoms a
    custom GUNICORN format could use to log secrets (query string, raw request line,
    credentials and cookies) blanked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U") or "")
        atoms["r"] = f"{atoms.get('m')} {atoms['U']} {atoms.get('H')}"
        atoms["q"] = "-"
        atoms["u"] = "-"
        atoms["f"] = "-"  # a Referer can carry another page's query string
        for key in _SECRET_ATOMS & atoms.keys():
            atoms[key] = "-"
        return atoms


logger_class = RedactingLogger
