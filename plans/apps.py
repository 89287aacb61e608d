from django.apps import AppConfig


class PlansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "plans"
    verbose_name = "Plans and usage"

    def ready(self):
        from plans import checks  # noqa: F401  (registers the plan settings checks)
