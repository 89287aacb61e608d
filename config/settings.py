"""Settings for the project. Every deploy-relevant value comes from an environment
variable of the same name (or an optional `.env` file beside manage.py)."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Real environment variables win over the file: read_env only fills in what is unset.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

# Development-only fallbacks. Production (DEBUG false) must set both explicitly.
_DEV_SECRET_KEY = "django-insecure-local-development-only-never-in-production"
_DEV_CRYPTOGRAPHY_KEY = "local-development-only-cryptography-key"

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(for local development, DEBUG=true uses a built-in development key)."
        )
    SECRET_KEY = _DEV_SECRET_KEY

# Encrypts stored provider keys and tokens. Kept apart from SECRET_KEY so that
# rotating one does not make the other's data unreadable. It lives in SECRETS_ENCRYPTION_KEY:
# django-cryptography rewrites settings.CRYPTOGRAPHY_KEY in place with a derived value.
SECRETS_ENCRYPTION_KEY = env.str("CRYPTOGRAPHY_KEY", default="")
if not SECRETS_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "CRYPTOGRAPHY_KEY is not set. It encrypts the organizations' stored API keys "
            "and tokens; set it to a long random string and keep it safe "
            "(for local development, DEBUG=true uses a built-in development key)."
        )
    SECRETS_ENCRYPTION_KEY = _DEV_CRYPTOGRAPHY_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-organization",
)
# The frontend reads how long to wait after a 429 or 503.
CORS_EXPOSE_HEADERS = ["Retry-After"]
# Proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed: the client
# address is then the right-most entry that is not one of them (organizations/request_context.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS (sent on HTTPS responses only): once every request is redirected to HTTPS, browsers are
# told to use nothing else for a year, subdomains included.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_SSL_REDIRECT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts, styles, images and fonts from this site only,
# no inline script or style, no plugins, never framed, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's security-key list uses its filters
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "huey.contrib.djhuey",
    "common",
    "organizations",
    "plans",
    "aiconfig",
    "whatsapp",
    "messaging",
    "settings_page",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the path or the query string into a database lookup.
    "common.middleware.RejectNulMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Refusals that pass (cache down, outbound calls busy): 503/429 with Retry-After, not a 500.
    "common.middleware.RetryLaterMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Responses that carry a token or a secret are never stored by a browser or proxy.
    "organizations.middleware.NoStoreForSecretsMiddleware",
    # Last: turns a login attempt it refused into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organizations.context_processors.current_organization",
                "settings_page.context_processors.credential_health",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections, checked before reuse so a restarted PostgreSQL is survived.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue instead of failing with "database is locked": every transaction takes the
    # write lock when it begins (a deferred one that reads first cannot upgrade while another
    # writes), and waits up to SQLITE_BUSY_TIMEOUT seconds for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20)}
    )

# Rate limits and the per-organization bulkhead are counted in this cache, so it must be shared
# by every process: Redis (CACHE_URL=redis://…) or, without CACHE_URL in production, Django's
# database cache (table created by a migration). Local memory only with DEBUG=true.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
elif DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {"default": {"BACKEND": "common.cache.DatabaseCache", "LOCATION": "django_cache"}}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # Django's own incr is a read then a write; ours is atomic (common/cache.py).
    CACHES["default"]["BACKEND"] = "common.cache.DatabaseCache"
# A Redis that stops answering fails within seconds (and /healthz says so) instead of holding
# request threads; `?socket_timeout=` in CACHE_URL overrides.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", 2)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 2)

# The task engine (Huey). Without HUEY_URL the queue is a SQLite file beside the project
# (embedded: `make run` starts a consumer beside the web server, nothing else to install);
# with HUEY_URL=redis://… it lives in Redis and consumers may run on any number of machines
# (`python manage.py run_huey`).
HUEY_URL = env("HUEY_URL", default="")
HUEY = {
    "name": env("HUEY_NAME", default="church-messaging"),
    "immediate": env.bool("HUEY_IMMEDIATE", default=False),
    "utc": True,
    "consumer": {"workers": env.int("HUEY_WORKERS", default=2), "worker_type": "thread"},
}
if HUEY_URL:
    HUEY.update({"huey_class": "huey.RedisHuey", "connection": {"url": HUEY_URL}})
else:
    HUEY.update(
        {
            "huey_class": "huey.SqliteHuey",
            "connection": {
                "filename": env("HUEY_SQLITE_PATH", default=str(BASE_DIR / "huey.sqlite3"))
            },
        }
    )

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")

# Flash messages live in the server-side session, not a cookie: one of them carries an
# invitation link.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

AUTH_USER_MODEL = "organizations.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# Brute-force protection of every login: the pages, /admin/login/ and /api/auth/token
# (django-axes, the one lockout mechanism; see organizations/lockout.py). Failures are counted
# per email *and* client address, so an attacker cannot lock a user out everywhere; in the
# database, so every app process shares the counts and the admin can list and delete them.
# allauth's own failed-login limit is switched off below (ACCOUNT_RATE_LIMITS).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out attempt
    "allauth.account.auth_backends.AuthenticationBackend",  # email + password
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "organizations.lockout.attempted_email"
AXES_CLIENT_IP_CALLABLE = "organizations.request_context.client_ip"
AXES_LOCKOUT_CALLABLE = "organizations.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded, only failures
AXES_VERBOSE = False  # no start-up banner; failures are still logged

# Account pages (django-allauth): log in by email, sign up, verify the address, reset and
# change the password, change the address (verified again), two-factor (allauth.mfa).
ACCOUNT_ADAPTER = "organizations.accounts.AccountAdapter"
ACCOUNT_FORMS = {"signup": "organizations.forms.SignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
# Everything but invitations works before the address is verified (organizations/services.py).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = env.int("EMAIL_CONFIRMATION_EXPIRE_DAYS", default=3)
ACCOUNT_CHANGE_EMAIL = True  # a new address replaces the old one once it is verified
ACCOUNT_EMAIL_NOTIFICATIONS = True  # tell the account about password and address changes
ACCOUNT_PREVENT_ENUMERATION = True  # password reset answers alike for every address
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # other sessions end; this one stays
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Church Messaging] "
# The project's own counters enforce LOGIN_RATE, SIGNUP_RATE and PASSWORD_RESET_RATE
# (organizations/throttles.py), and django-axes the failed-login lockout; allauth keeps its
# limits on emails it sends on request (verification, address change, reset from a key).
ACCOUNT_RATE_LIMITS = {
    "login": False,
    "login_failed": False,
    "signup": False,
    "reset_password": False,
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
}
# Two-factor: an authenticator app (TOTP) with recovery codes, and passkeys.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False  # passkeys are a second factor, not a login
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Church Messaging")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

# Per client address (organizations/request_context.client_ip), across every process.
LOGIN_RATE = env.str("LOGIN_RATE", default="30/minute")
SIGNUP_RATE = env.str("SIGNUP_RATE", default="5/hour")
PASSWORD_RESET_RATE = env.str("PASSWORD_RESET_RATE", default="5/hour")  # and per email
# Invitations sent per organization and per sender.
INVITATION_RATE = env.str("INVITATION_RATE", default="20/hour")
# Organizations one user creates (each would bring a fresh per-organization allowance).
ORGANIZATION_CREATE_RATE = env.str("ORGANIZATION_CREATE_RATE", default="5/day")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "organizations.tokens.CurrentCredentialsJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "common.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# OpenAPI 3 schema at /api/schema/, Swagger UI at /api/docs/ (assets served locally, no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Church Messaging API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "JSON API for churches' AI-assisted WhatsApp messaging. Authenticate with "
        "`POST /api/auth/token` and send `Authorization: Bearer <access>`. Endpoints that act "
        "for an organization take the `X-Organization: <slug>` header (optional when the user "
        "belongs to exactly one). Errors are JSON: `{error, error_code, fields?}`."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False},
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "organizations.models.Role",
        "InvitableRoleEnum": ["admin", "member"],
        "CredentialStatusEnum": ["ok", "unreadable"],
        "CredentialHealthStatusEnum": ["unknown", "ok", "failing", "needs_attention"],
        "SendStatusEnum": "messaging.models.SendStatus",
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a digest of the password they were issued under: a password change or
    # reset refuses every token issued before it (organizations/tokens.py).
    "TOKEN_OBTAIN_SERIALIZER": "organizations.tokens.TokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "organizations.tokens.TokenRefreshSerializer",
}

INVITATION_TTL_DAYS = 7

# Outgoing calls to AI providers. The base URLs set here by the operator are trusted;
# a `custom` provider's user-given base URL goes through the SSRF guard.
AI_PROVIDER_TIMEOUT = env.float("AI_PROVIDER_TIMEOUT", default=15.0)
AI_ALLOW_PRIVATE_BASE_URLS = env.bool("AI_ALLOW_PRIVATE_BASE_URLS", default=False)
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
GEMINI_BASE_URL = env.str(
    "GEMINI_BASE_URL", default="https://generativelanguage.googleapis.com/v1beta"
)
DEEPSEEK_BASE_URL = env.str("DEEPSEEK_BASE_URL", default="https://api.deepseek.com")
GROQ_BASE_URL = env.str("GROQ_BASE_URL", default="https://api.groq.com/openai/v1")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
MISTRAL_BASE_URL = env.str("MISTRAL_BASE_URL", default="https://api.mistral.ai/v1")
OPENROUTER_BASE_URL = env.str("OPENROUTER_BASE_URL", default="https://openrouter.ai/api/v1")
# Each provider's default model, used when a configuration names none; empty means the
# registry's current default (aiconfig/providers.py).
GEMINI_DEFAULT_MODEL = env.str("GEMINI_DEFAULT_MODEL", default="")
OPENAI_DEFAULT_MODEL = env.str("OPENAI_DEFAULT_MODEL", default="")
DEEPSEEK_DEFAULT_MODEL = env.str("DEEPSEEK_DEFAULT_MODEL", default="")
GROQ_DEFAULT_MODEL = env.str("GROQ_DEFAULT_MODEL", default="")
ANTHROPIC_DEFAULT_MODEL = env.str("ANTHROPIC_DEFAULT_MODEL", default="")
MISTRAL_DEFAULT_MODEL = env.str("MISTRAL_DEFAULT_MODEL", default="")
OPENROUTER_DEFAULT_MODEL = env.str("OPENROUTER_DEFAULT_MODEL", default="")
CUSTOM_DEFAULT_MODEL = env.str("CUSTOM_DEFAULT_MODEL", default="")
# The bulkhead on calls to AI providers and Meta (common/http.py): operations calling out at
# once per process (default: half of gunicorn's threads, so the other half always answers
# reads), and per organization across all processes (counted in the shared cache).
OUTBOUND_CONCURRENCY = env.int(
    "OUTBOUND_CONCURRENCY", default=max(1, env.int("GUNICORN_THREADS", default=8) // 2)
)
OUTBOUND_CONCURRENCY_PER_ORG = env.int("OUTBOUND_CONCURRENCY_PER_ORG", default=2)
# How long a per-organization slot lasts if its process dies holding it (0: twice
# AI_PROVIDER_TIMEOUT plus 10 seconds).
OUTBOUND_LEASE_SECONDS = env.int("OUTBOUND_LEASE_SECONDS", default=0)
# Key tests per user, per organization and per client address (DRF throttle rate syntax).
AI_KEY_TEST_RATE = env.str("AI_KEY_TEST_RATE", default="10/min")

# Plans and limits (plans/registry.py; every limit is listed in the README).
DEFAULT_PLAN = env.str("DEFAULT_PLAN", default="free")
# Broadcast recipients per organization and calendar month; empty = unlimited.
PLAN_FREE_BROADCAST_RECIPIENTS = env.int("PLAN_FREE_BROADCAST_RECIPIENTS", default=500)
PLAN_PRO_BROADCAST_RECIPIENTS = env("PLAN_PRO_BROADCAST_RECIPIENTS", cast=int, default=None)
PLAN_ENTERPRISE_BROADCAST_RECIPIENTS = env(
    "PLAN_ENTERPRISE_BROADCAST_RECIPIENTS", cast=int, default=None
)
# USD per million tokens per model, versioned (plans/prices.json).
AI_PRICE_TABLE = env.str("AI_PRICE_TABLE", default=str(BASE_DIR / "plans" / "prices.json"))
# Share of a monthly cap at which owners and admins get one warning email.
BUDGET_WARNING_RATIO = env.float("BUDGET_WARNING_RATIO", default=0.8)
# The platform's managed AI key (Enterprise). Never shown to organizations.
PLATFORM_AI_PROVIDER = env.str("PLATFORM_AI_PROVIDER", default="")
PLATFORM_AI_API_KEY = env.str("PLATFORM_AI_API_KEY", default="")
PLATFORM_AI_MODEL = env.str("PLATFORM_AI_MODEL", default="")
PLATFORM_AI_BASE_URL = env.str("PLATFORM_AI_BASE_URL", default="")
# After a rate limit, exhausted quota, 5xx or timeout, a key rests this long (shared by all
# processes through the cache) while calls go to the next key.
AI_FAILOVER_COOLDOWN_SECONDS = env.int("AI_FAILOVER_COOLDOWN_SECONDS", default=60)
# Output tokens an AI draft may use (also what a draft reserves against the budget).
AI_DRAFT_MAX_OUTPUT_TOKENS = env.int("AI_DRAFT_MAX_OUTPUT_TOKENS", default=1024)

# AI drafts and WhatsApp sends per user (each costs the organization money).
MESSAGES_RATE = env.str("MESSAGES_RATE", default="30/min")

WHATSAPP_GRAPH_BASE_URL = env.str(
    "WHATSAPP_GRAPH_BASE_URL", default="https://graph.facebook.com/v25.0"
)
# An inbound message that is only one of these words (case and surrounding spaces ignored)
# opts the contact out of, or back into, the organization's broadcasts.
OPT_OUT_KEYWORDS = env.list(
    "OPT_OUT_KEYWORDS", default=["STOP", "UNSUBSCRIBE", "CANCEL", "PARAR", "BAJA", "ARRÊT"]
)
OPT_IN_KEYWORDS = env.list("OPT_IN_KEYWORDS", default=["START"])
# A contacts CSV import: at most this many bytes and data rows.
CONTACT_IMPORT_MAX_BYTES = env.int("CONTACT_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
CONTACT_IMPORT_MAX_ROWS = env.int("CONTACT_IMPORT_MAX_ROWS", default=50_000)

# Credential health checks (a background task re-tests every stored AI key and WhatsApp token):
# every HEALTH_CHECK_INTERVAL_HOURS (decimals allowed: 0.01 is 36 seconds), each credential
# moved by up to HEALTH_CHECK_JITTER (a fraction of the interval) so checks spread out.
HEALTH_CHECK_INTERVAL_HOURS = env.float("HEALTH_CHECK_INTERVAL_HOURS", default=6.0)
if HEALTH_CHECK_INTERVAL_HOURS <= 0:
    raise ImproperlyConfigured("HEALTH_CHECK_INTERVAL_HOURS must be a positive number of hours.")
HEALTH_CHECK_JITTER = min(max(env.float("HEALTH_CHECK_JITTER", default=0.1), 0.0), 0.5)
# Owners and admins are warned by email this many days before the WhatsApp token expires.
TOKEN_EXPIRY_WARNING_DAYS = env.int("TOKEN_EXPIRY_WARNING_DAYS", default=7)

# Public origin used to build absolute links (invitation emails, webhook URL).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Every handler redacts anything shaped like a provider key or token (common/log_redaction.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "common.log_redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_secrets"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django gives these loggers handlers of its own (mail_admins, django.server); with none,
    # their records go to the root handler above, redacted like the rest.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# Broadcasts (messaging/broadcasts/): at most this many messages a second per WhatsApp number,
# across every task consumer together (Meta allows 80 by default); the messaging limit assumed
# until the health check has read the number's own (Meta's limit for a new business); how
# many sends one consumer keeps in flight for a broadcast; the organization's broadcast sends
# in flight at once across all consumers (an allowance apart from OUTBOUND_CONCURRENCY_PER_ORG,
# which keeps its interactive requests answered); and the least time between two messages to
# one person (Meta refuses closer ones with 131056).
WHATSAPP_SEND_RATE = env.float("WHATSAPP_SEND_RATE", default=20.0)
WHATSAPP_DEFAULT_MESSAGING_LIMIT = env.int("WHATSAPP_DEFAULT_MESSAGING_LIMIT", default=250)
BROADCAST_SEND_THREADS = env.int("BROADCAST_SEND_THREADS", default=6)
BROADCAST_OUTBOUND_PER_ORG = env.int("BROADCAST_OUTBOUND_PER_ORG", default=8)
BROADCAST_PERSON_GAP_SECONDS = env.float("BROADCAST_PERSON_GAP_SECONDS", default=6.0)
