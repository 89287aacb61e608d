from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import TemplateView


def coming_soon(title):
    return login_required(
        TemplateView.as_view(template_name="coming_soon.html", extra_context={"title": title})
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("organizations.api_urls")),
    path("settings/", coming_soon("Settings"), name="settings"),
    path("messages/", coming_soon("Messages"), name="messages"),
    path("", include("organizations.urls")),
]
