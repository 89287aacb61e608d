"""The database cache's table: production without CACHE_URL counts rate limits and the
outbound bulkhead there (config/settings.py), so `migrate` creates it; no separate
`createcachetable` step to forget."""

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

DEFAULT_TABLE = "django_cache"


def _tables() -> set[str]:
    tables = {DEFAULT_TABLE}
    for cache in settings.CACHES.values():
        if cache["BACKEND"].endswith("DatabaseCache"):
            tables.add(cache["LOCATION"])
    return tables


def create_cache_tables(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    for table in sorted(_tables()):
        command.create_table(schema_editor.connection.alias, table, dry_run=False)


def drop_cache_table(apps, schema_editor):
    table = schema_editor.quote_name(DEFAULT_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_cache_tables, drop_cache_table)]
