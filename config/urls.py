from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script as a file: no inline script for the CSP to allow.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("organizations.api_urls")),
    path("api/", include("aiconfig.api_urls")),
    path("api/", include("whatsapp.api_urls")),
    path("", include("aiconfig.urls")),
    path("", include("whatsapp.urls")),
    path("", include("organizations.urls")),
]
