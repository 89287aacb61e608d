from django.apps import AppConfig


class SettingsPageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "settings_page"
    verbose_name = "Settings page"
