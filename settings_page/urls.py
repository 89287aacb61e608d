from django.urls import path

from settings_page import views

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/ai/", views.ai_config_submit, name="settings-ai"),
    path("settings/ai/remove/", views.ai_config_remove, name="settings-ai-remove"),
    path("settings/whatsapp/", views.whatsapp_config_submit, name="settings-whatsapp"),
    path(
        "settings/whatsapp/remove/", views.whatsapp_config_remove, name="settings-whatsapp-remove"
    ),
]
