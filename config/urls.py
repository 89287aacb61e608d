from csp.decorators import csp_update
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from organizations.throttles import login_check
from organizations.views import rate_limited

admin.site.site_header = "Church Messaging administration"
admin.site.site_title = "Church Messaging administration"
admin.site.index_title = "Organizations, members, credentials and messages"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on their own; the pages link the SVG.
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    # The admin's login counts against LOGIN_RATE like the other logins.
    path("admin/login/", rate_limited(admin.site.login, login_check)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script as a file: no inline script for the CSP to allow.
    # Swagger UI's stylesheet draws a few icons as data: images: allowed on this page only.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("api/", include("organizations.api_urls")),
    path("api/", include("settings_page.api_urls")),
    path("api/", include("messaging.api_urls")),
    path("api/", include("plans.api_urls")),
    path("", include("settings_page.urls")),
    path("", include("messaging.urls")),
    path("", include("plans.urls")),
    path("", include("whatsapp.urls")),
    path("", include("organizations.urls")),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
