"""Moving MessageRecord from the whatsapp app to messaging keeps its table and every row: a
database holding rows made at the old schema is migrated forward to today's migrations."""

from datetime import UTC, datetime

from django.db import connection
from django.db.migrations.loader import MigrationLoader

from messaging.models import MessageRecord

# The schema before the move: MessageRecord belonged to whatsapp (whatsapp 0001).
OLD_SCHEMA = [
    ("organizations", "0001_initial"),
    ("aiconfig", "0001_initial"),
    ("whatsapp", "0001_initial"),
]
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

FIELDS = [
    "organization_id",
    "user_id",
    "kind",
    "ok",
    "error_code",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "phone_number_id",
    "to",
    "text",
    "message_id",
    "status",
    "status_error_code",
    "status_updated_at",
]


def _rows(model) -> dict[int, dict]:
    return {row["id"]: row for row in model.objects.order_by("id").values("id", *FIELDS)}


def _make_old_rows(apps) -> None:
    Organization = apps.get_model("organizations", "Organization")
    User = apps.get_model("organizations", "User")
    Record = apps.get_model("whatsapp", "MessageRecord")
    StatusEvent = apps.get_model("whatsapp", "StatusEvent")
    grace = Organization.objects.create(name="Grace Church", slug="grace-church")
    hope = Organization.objects.create(name="Hope Chapel", slug="hope-chapel")
    mary = User.objects.create(email="mary@grace.test", password="!")
    Record.objects.create(
        organization=grace,
        user=mary,
        kind="draft",
        ok=True,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=120,
        output_tokens=48,
        text="Sunday service moves to 10 am. Bienvenidos, ¡todos! 🙏",
    )
    Record.objects.create(
        organization=grace,
        user=mary,
        kind="send",
        ok=True,
        phone_number_id="277321005464405",
        to="15551234567",
        text="See you on Sunday!",
        message_id="wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI",
        status="delivered",
        status_updated_at=AT,
    )
    Record.objects.create(
        organization=hope,
        user=None,  # the member was deleted later
        kind="send",
        ok=False,
        error_code="recipient_not_allowed",
        phone_number_id="277321005464405",
        to="447700900123",
        text="Choir practice is cancelled.",
        status="failed",
        status_error_code=131026,
        status_updated_at=AT,
    )
    StatusEvent.objects.create(
        organization=grace, message_id="wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI", status="delivered"
    )


def test_it_keeps_every_message_record_when_the_model_moves_to_messaging(migrator):
    old = migrator.apply_initial_migration(OLD_SCHEMA)
    _make_old_rows(old.apps)
    before = _rows(old.apps.get_model("whatsapp", "MessageRecord"))
    statuses_before = old.apps.get_model("whatsapp", "StatusEvent").objects.count()
    assert len(before) == 3

    # Forward to every app's latest migration, as `migrate` on a deployed database does.
    new = migrator.apply_tested_migration(MigrationLoader(connection).graph.leaf_nodes())

    assert _rows(new.apps.get_model("messaging", "MessageRecord")) == before
    assert new.apps.get_model("whatsapp", "StatusEvent").objects.count() == statuses_before
    # The application's own model reads them, from the same table.
    assert _rows(MessageRecord) == before
    assert MessageRecord._meta.db_table == "whatsapp_messagerecord"
    assert MessageRecord.objects.get(status="failed").organization.slug == "hope-chapel"
    assert MessageRecord.objects.get(kind="draft").user.email == "mary@grace.test"


def test_it_reverses_the_move_without_losing_rows(migrator):
    """Rolling back to the old schema (a deploy reverted) keeps the rows too."""
    migrator.apply_initial_migration(OLD_SCHEMA)
    new = migrator.apply_tested_migration(MigrationLoader(connection).graph.leaf_nodes())
    Record = new.apps.get_model("messaging", "MessageRecord")
    Organization = new.apps.get_model("organizations", "Organization")
    grace = Organization.objects.create(name="Grace Church", slug="grace-church")
    Record.objects.create(organization=grace, kind="draft", ok=True, text="Kept both ways")

    old = migrator.apply_tested_migration(
        [("messaging", None), ("whatsapp", "0001_initial"), ("organizations", "0001_initial")]
    )

    texts = list(old.apps.get_model("whatsapp", "MessageRecord").objects.values_list("text"))
    assert texts == [("Kept both ways",)]
