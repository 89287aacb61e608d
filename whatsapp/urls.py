from django.urls import path

from whatsapp import message_views, views, webhook

urlpatterns = [
    path("settings/whatsapp/", views.whatsapp_config_submit, name="settings-whatsapp"),
    path(
        "settings/whatsapp/remove/", views.whatsapp_config_remove, name="settings-whatsapp-remove"
    ),
    path("webhooks/whatsapp/<str:webhook_id>/", webhook.whatsapp_webhook, name="whatsapp-webhook"),
]

urlpatterns += [path("messages/", message_views.composer, name="messages")]
