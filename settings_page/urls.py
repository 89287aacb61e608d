from django.urls import path

from settings_page import views
from settings_page.sections import SECTIONS

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/health/check/", views.health_check, name="settings-health-check"),
]
for section in SECTIONS:
    urlpatterns += [
        path(
            f"settings/{section.slug}/",
            views.credential_submit,
            {"slug": section.slug},
            name=f"settings-{section.slug}",
        ),
        path(
            f"settings/{section.slug}/remove/",
            views.credential_remove,
            {"slug": section.slug},
            name=f"settings-{section.slug}-remove",
        ),
    ]
