from django.urls import path

from aiconfig import api

urlpatterns = [
    path("settings/ai-config", api.AIConfigView.as_view(), name="api-ai-config"),
    path("settings/ai-config/test", api.AIConfigTestView.as_view(), name="api-ai-config-test"),
]
