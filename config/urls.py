from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("organizations.api_urls")),
    path("api/", include("aiconfig.api_urls")),
    path("api/", include("whatsapp.api_urls")),
    path("", include("aiconfig.urls")),
    path("", include("whatsapp.urls")),
    path("", include("organizations.urls")),
]
