from django.urls import path

from settings_page.api import API_VIEWS, HealthCheckView
from settings_page.sections import SECTIONS

urlpatterns = [
    path("settings/health/check", HealthCheckView.as_view(), name="api-health-check"),
]
for section in SECTIONS:
    views = API_VIEWS[section.slug]
    urlpatterns += [
        path(section.api_path, views.settings.as_view(), name=section.api_name),
        path(f"{section.api_path}/test", views.test.as_view(), name=f"{section.api_name}-test"),
    ]
