import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.encryption import SecretDecryptionError, rotate_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored secret (AI keys, WhatsApp tokens and app secrets) from the "
        "old key in OLD_CRYPTOGRAPHY_KEY to the new key in CRYPTOGRAPHY_KEY, in one transaction, "
        "checking that each value decrypts afterwards. Keys come from the environment, never "
        "from the command line, so they stay out of shell history and process lists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every value and report, change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        old_key = os.environ.get("OLD_CRYPTOGRAPHY_KEY", "")
        new_key = settings.SECRETS_ENCRYPTION_KEY
        if not old_key:
            raise CommandError(
                "Set OLD_CRYPTOGRAPHY_KEY to the key the secrets are encrypted with now."
            )
        if old_key == new_key:
            raise CommandError("OLD_CRYPTOGRAPHY_KEY equals CRYPTOGRAPHY_KEY: nothing to rotate.")
        try:
            with transaction.atomic():
                report = rotate_secrets(old_key=old_key, new_key=new_key, dry_run=dry_run)
        except SecretDecryptionError as exc:
            raise CommandError(f"Rotation aborted, nothing changed: {exc}") from None
        for label, counts in report.items():
            self.stdout.write(
                f"{label}: {counts['rotated']} {'to rotate' if dry_run else 'rotated'}, "
                f"{counts['already_new']} already on the new key, {counts['empty']} empty"
            )
        self.stdout.write(self.style.SUCCESS("Dry run: nothing changed." if dry_run else "Done."))
