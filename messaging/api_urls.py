from django.urls import path

from messaging import api

urlpatterns = [
    path("messages", api.MessageListView.as_view(), name="api-messages"),
    path("messages/generate", api.GenerateView.as_view(), name="api-messages-generate"),
    path("messages/send", api.SendView.as_view(), name="api-messages-send"),
    path("messages/usage", api.UsageView.as_view(), name="api-messages-usage"),
]
