from django.apps import AppConfig


class AIConfigAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aiconfig"

    def ready(self):
        from aiconfig import activity, checks  # noqa: F401  (checks registers the deploy checks)
        from aiconfig.providers import provider_choices
        from common.labels import AI_PROVIDER, labels_register

        activity.register_sentences()
        # plans' admin and ledger name providers without importing aiconfig.
        labels_register(AI_PROVIDER, dict(provider_choices()))
