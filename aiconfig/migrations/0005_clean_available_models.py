"""Model lists stored before provider answers were cleaned may hold ids that cannot be
rendered (a lone surrogate, kept escaped in SQLite's JSON text) and then break the settings API
and page: clean them as new answers are cleaned."""

from django.db import migrations

from common.validators import clean_model_ids


def clean_model_lists(apps, schema_editor):
    AIConfig = apps.get_model("aiconfig", "AIConfig")
    for pk, models in AIConfig.objects.values_list("pk", "available_models").iterator():
        cleaned = clean_model_ids(models) if isinstance(models, list) else []
        if cleaned != models:
            AIConfig.objects.filter(pk=pk).update(available_models=cleaned)


class Migration(migrations.Migration):
    dependencies = [
        ("aiconfig", "0004_aiconfig_slot"),
    ]

    operations = [
        migrations.RunPython(clean_model_lists, migrations.RunPython.noop, elidable=True),
    ]
