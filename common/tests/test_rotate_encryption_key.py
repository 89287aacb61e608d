import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from aiconfig.models import AIConfig
from common.encryption import UNREADABLE, cipher_for

pytestmark = pytest.mark.django_db

OLD_KEY = "old-cryptography-key-0123456789"
NEW_KEY = "new-cryptography-key-9876543210"
SECRET = "sk-proj-RotateMe0123456789abcdefABCDEF42ab"


def raw_key_bytes(config) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM aiconfig_aiconfig WHERE id = %s", [config.pk])
        return bytes(cursor.fetchone()[0])


@pytest.fixture
def stored(team, settings):
    settings.SECRETS_ENCRYPTION_KEY = OLD_KEY
    return AIConfig.objects.create(
        organization=team.org, provider="openai", api_key=SECRET, model="m"
    )


def test_it_rotates_every_secret_to_the_new_key(stored, settings, monkeypatch, capsys):
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)
    settings.SECRETS_ENCRYPTION_KEY = NEW_KEY
    assert AIConfig.objects.get().api_key is UNREADABLE
    call_command("rotate_encryption_key")
    assert cipher_for(NEW_KEY).decrypt(raw_key_bytes(stored)) == SECRET
    assert AIConfig.objects.get().api_key == SECRET
    out = capsys.readouterr().out
    assert "aiconfig.AIConfig.api_key: 1 rotated" in out
    assert SECRET not in out


def test_it_changes_nothing_in_a_dry_run(stored, settings, monkeypatch, capsys):
    before = raw_key_bytes(stored)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)
    settings.SECRETS_ENCRYPTION_KEY = NEW_KEY
    call_command("rotate_encryption_key", "--dry-run")
    assert raw_key_bytes(stored) == before
    assert "1 to rotate" in capsys.readouterr().out


def test_it_is_safe_to_run_twice(stored, settings, monkeypatch, capsys):
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)
    settings.SECRETS_ENCRYPTION_KEY = NEW_KEY
    call_command("rotate_encryption_key")
    call_command("rotate_encryption_key")
    assert "1 already on the new key" in capsys.readouterr().out
    assert AIConfig.objects.get().api_key == SECRET


def test_it_aborts_and_changes_nothing_when_a_value_fits_neither_key(
    stored, team, settings, monkeypatch
):
    settings.SECRETS_ENCRYPTION_KEY = "a-third-key-nobody-knows-anymore"
    stranger = AIConfig.objects.create(
        organization=team.other_org, provider="openai", api_key="x" * 20, model="m"
    )
    before = raw_key_bytes(stored)
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)
    settings.SECRETS_ENCRYPTION_KEY = NEW_KEY
    with pytest.raises(CommandError) as info:
        call_command("rotate_encryption_key")
    assert f"row {stranger.pk}" in str(info.value)
    assert raw_key_bytes(stored) == before


def test_it_requires_the_old_key_from_the_environment(stored, monkeypatch):
    monkeypatch.delenv("OLD_CRYPTOGRAPHY_KEY", raising=False)
    with pytest.raises(CommandError):
        call_command("rotate_encryption_key")


def test_it_keeps_the_stored_mask_in_step_on_save_and_rotation(stored, settings, monkeypatch):
    assert AIConfig.objects.values_list("api_key_mask", flat=True).get() == "***42ab"
    AIConfig.objects.update(api_key_mask="")  # e.g. stored before the column existed
    monkeypatch.setenv("OLD_CRYPTOGRAPHY_KEY", OLD_KEY)
    settings.SECRETS_ENCRYPTION_KEY = NEW_KEY
    call_command("rotate_encryption_key")
    config = AIConfig.objects.get()
    assert config.api_key_mask == "***42ab" and config.api_key_masked == "***42ab"
    config.api_key = "sk-proj-AnotherKey0123456789abcdefABCDEFz9y8"
    config.save()
    assert AIConfig.objects.values_list("api_key_mask", flat=True).get() == "***z9y8"
