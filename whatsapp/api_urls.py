from django.urls import path

from whatsapp import api, message_api

urlpatterns = [
    path("settings/whatsapp-meta", api.WhatsAppConfigView.as_view(), name="api-whatsapp"),
    path(
        "settings/whatsapp-meta/test",
        api.WhatsAppConfigTestView.as_view(),
        name="api-whatsapp-test",
    ),
]

urlpatterns += [
    path("messages", message_api.MessageListView.as_view(), name="api-messages"),
    path("messages/generate", message_api.GenerateView.as_view(), name="api-messages-generate"),
    path("messages/send", message_api.SendView.as_view(), name="api-messages-send"),
    path("messages/usage", message_api.UsageView.as_view(), name="api-messages-usage"),
]
