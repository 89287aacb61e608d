from django.apps import AppConfig


class AIConfigAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aiconfig"

    def ready(self):
        from aiconfig import activity

        activity.register_sentences()
