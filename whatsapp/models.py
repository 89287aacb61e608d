import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from common.credential_health import CredentialHealth
from common.encryption import EncryptedSecretField, UnreadableSecret, mask_secret
from organizations.models import Organization


def new_webhook_id() -> str:
    return secrets.token_urlsafe(24)


def new_verify_token() -> str:
    return secrets.token_urlsafe(32)


# Meta's messaging limit tiers (people reachable outside their 24-hour window per moving 24
# hours, per business portfolio) as numbers; TIER_UNLIMITED is kept as the tier alone.
MESSAGING_LIMIT_TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10000,
    "TIER_100K": 100000,
}
MESSAGING_LIMIT_UNLIMITED = "TIER_UNLIMITED"


class WhatsAppConfig(CredentialHealth):
    """An organization's own WhatsApp Cloud API credentials (one per organization), with the
    token's health (common/credential_health.py) and the number's health as Meta reports it."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="whatsapp_config"
    )
    phone_number_id = models.CharField(max_length=20)
    business_account_id = models.CharField(max_length=20)
    access_token = EncryptedSecretField()
    # Optional; needed to check the signature of webhook deliveries.
    app_secret = EncryptedSecretField()
    # The webhook URL's opaque id (not the slug: not guessable) and the token Meta echoes back.
    webhook_id = models.CharField(
        max_length=64, unique=True, default=new_webhook_id, editable=False
    )
    webhook_verify_token = models.CharField(max_length=64, default=new_verify_token, editable=False)
    display_phone_number = models.CharField(max_length=40, blank=True)
    verified_name = models.CharField(max_length=200, blank=True)
    quality_rating = models.CharField(max_length=20, blank=True)
    # The number's health, from the health check and the account_update /
    # phone_number_quality_update webhooks.
    number_status = models.CharField(max_length=30, blank=True)  # CONNECTED, FLAGGED, ...
    name_status = models.CharField(max_length=40, blank=True)
    throughput_level = models.CharField(max_length=20, blank=True)  # STANDARD, HIGH, ...
    # Meta's tier as given (TIER_2K, TIER_UNLIMITED, TIER_NOT_SET) and as a number of people
    # per 24 hours; None when unknown, not set yet, or unlimited (see messaging_limit_unlimited).
    messaging_limit_tier = models.CharField(max_length=20, blank=True)
    messaging_limit = models.PositiveIntegerField(null=True, blank=True)
    # The last account_update event that restricts the account (empty when none).
    account_restriction = models.CharField(max_length=40, blank=True)
    # Optional: with the app secret, lets debug_token tell when the access token expires.
    app_id = models.CharField(max_length=20, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)  # None: never, or unknown
    token_expiry_warned_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WhatsApp configuration"

    def __str__(self):
        return f"{self.organization} · {self.display_phone_number or self.phone_number_id}"

    @property
    def token_unreadable(self) -> bool:
        return isinstance(self.access_token, UnreadableSecret)

    @property
    def access_token_masked(self) -> str | None:
        return mask_secret(self.access_token)

    @property
    def webhook_url(self) -> str:
        """The callback URL to enter in Meta's app dashboard."""
        return settings.SITE_URL.rstrip("/") + reverse("whatsapp-webhook", args=[self.webhook_id])

    @property
    def messaging_limit_unlimited(self) -> bool:
        return self.messaging_limit_tier == MESSAGING_LIMIT_UNLIMITED

    @property
    def has_app_secret(self) -> bool:
        return bool(self.app_secret) and not isinstance(self.app_secret, UnreadableSecret)


class StatusEvent(models.Model):
    """A delivery status Meta reported for a message we sent. Meta retries deliveries, so
    (organization, message_id, status) is unique."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    recipient_id = models.CharField(max_length=20, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "message_id", "status"], name="unique_status_event"
            )
        ]

    def __str__(self):
        return f"{self.message_id} {self.status}"


class InboundMessage(models.Model):
    """A message a member of the public sent to the organization's number."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=200)
    from_number = models.CharField(max_length=20)
    kind = models.CharField(max_length=30)
    text = models.TextField(blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "message_id"], name="unique_inbound_message"
            )
        ]

    def __str__(self):
        return f"{self.message_id} from {self.from_number}"
