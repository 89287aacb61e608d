from django.apps import AppConfig


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"

    def ready(self):
        from messaging import services
        from whatsapp import events

        events.subscribe(events.StatusUpdate, services.on_status_update)
