"""System checks for configuration a deployment must not miss."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_cryptography_key(app_configs, **kwargs):
    messages = []
    if not settings.SECRETS_ENCRYPTION_KEY:
        messages.append(
            Error(
                "CRYPTOGRAPHY_KEY is empty.", hint="Set it to a long random string.", id="org.E001"
            )
        )
    elif settings.SECRETS_ENCRYPTION_KEY == settings.SECRET_KEY:
        messages.append(
            Warning(
                "CRYPTOGRAPHY_KEY equals SECRET_KEY.",
                hint="Use a separate value so either can be rotated on its own.",
                id="org.W001",
            )
        )
    return messages


@register(deploy=True)
def check_site_url(app_configs, **kwargs):
    if settings.SITE_URL.startswith("http://127.0.0.1") or "localhost" in settings.SITE_URL:
        return [
            Warning(
                "SITE_URL points at this machine.",
                hint="Set SITE_URL to the public https origin; invitation links and the "
                "WhatsApp webhook URL are built from it.",
                id="org.W002",
            )
        ]
    return []


PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@register(deploy=True)
def check_shared_cache(app_configs, **kwargs):
    if settings.CACHES["default"]["BACKEND"] in PROCESS_LOCAL_CACHES:
        return [
            Warning(
                "The cache is not shared between processes.",
                hint="Rate limits and the per-organization cap on outbound calls are counted "
                "in the cache: with one per process, each worker counts on its own. Set "
                "CACHE_URL to Redis, or leave it unset to use the database cache.",
                id="org.W003",
            )
        ]
    return []


@register(deploy=True)
def check_email_backend(app_configs, **kwargs):
    if not settings.DEBUG and settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        return [
            Warning(
                "E-mail is written to the console.",
                hint="Password reset links and invitation links would end up in the logs and "
                "never reach anyone. Set EMAIL_URL to your SMTP server "
                "(smtp+tls://user:password@host:587).",
                id="org.W004",
            )
        ]
    return []
