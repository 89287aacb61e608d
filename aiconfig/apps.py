from django.apps import AppConfig


class AIConfigAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aiconfig"

    def ready(self):
        from aiconfig import activity, checks  # noqa: F401  (checks registers the deploy checks)

        activity.register_sentences()
