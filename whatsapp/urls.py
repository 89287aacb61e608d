from django.urls import path

from whatsapp import webhook

urlpatterns = [
    path("webhooks/whatsapp/<str:webhook_id>/", webhook.whatsapp_webhook, name="whatsapp-webhook"),
]
