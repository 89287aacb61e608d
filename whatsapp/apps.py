from django.apps import AppConfig


class WhatsAppAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "whatsapp"

    def ready(self):
        from whatsapp import activity

        activity.register_sentences()
