from django.urls import path

from whatsapp import api

urlpatterns = [
    path("settings/whatsapp-meta", api.WhatsAppConfigView.as_view(), name="api-whatsapp"),
    path(
        "settings/whatsapp-meta/test",
        api.WhatsAppConfigTestView.as_view(),
        name="api-whatsapp-test",
    ),
]
