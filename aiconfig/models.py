from django.conf import settings
from django.db import models

from aiconfig.providers import provider_label
from common.credential_health import CredentialHealth
from common.encryption import EncryptedSecretField, UnreadableSecret, mask_secret
from organizations.models import Organization


class Slot(models.TextChoices):
    """An organization's own keys: the main one, and (on plans that allow it) a backup used
    when the main one fails."""

    PRIMARY = "primary", "Main key"
    BACKUP = "backup", "Backup key"


class AIConfig(CredentialHealth):
    """An organization's own AI provider credentials (one per organization and slot), with
    their health (common/credential_health.py: last_checked_at, health_status, ...)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ai_configs"
    )
    slot = models.CharField(max_length=10, choices=Slot, default=Slot.PRIMARY)
    provider = models.CharField(max_length=20)
    api_key = EncryptedSecretField(mask_field="api_key_mask")
    # What the mask shows ("***WXYZ"), kept beside the ciphertext (EncryptedSecretField).
    api_key_mask = models.CharField(max_length=8, blank=True, default="", editable=False)
    model = models.CharField(max_length=200)
    base_url = models.CharField(max_length=500, blank=True)
    # Model ids the provider listed at the last successful test: the page offers them.
    available_models = models.JSONField(default=list, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI configuration"
        constraints = [
            models.UniqueConstraint(fields=["organization", "slot"], name="unique_ai_config_slot")
        ]

    def __str__(self):
        return f"{self.organization} · {self.get_slot_display()} · {provider_label(self.provider)}"

    @property
    def key_unreadable(self) -> bool:
        """The stored key does not decrypt with CRYPTOGRAPHY_KEY: it must be entered again."""
        return isinstance(self.api_key, UnreadableSecret)

    @property
    def api_key_masked(self) -> str | None:
        if self.key_unreadable:
            return None
        return self.api_key_mask or mask_secret(self.api_key)
