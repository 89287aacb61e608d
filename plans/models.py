"""The usage ledger (one row per AI call, one per WhatsApp message) and the monthly counters
that the caps are enforced against."""

from django.conf import settings
from django.db import models

from common.labels import AI_PROVIDER, label_for
from organizations.models import Organization


class Credential(models.TextChoices):
    """Which key served an AI call."""

    PRIMARY = "primary", "Your main key"
    BACKUP = "backup", "Your backup key"
    PLATFORM = "platform", "The platform's key"


class Purpose(models.TextChoices):
    DRAFT = "draft", "Message draft"
    TEMPLATE_DRAFT = "template_draft", "Template draft"
    BROADCAST_FILL = "broadcast_fill", "Broadcast personalisation"
    KEY_TEST = "key_test", "Key test"
    HEALTH_CHECK = "health_check", "Key health check"


class Budget(models.TextChoices):
    """What a monthly counter counts. Calls with the organization's own keys (main and backup)
    spend the own budget; calls with the platform's key spend the platform budget."""

    OWN = "own", "Own AI key"
    PLATFORM = "platform", "Platform AI key"
    BROADCAST = "broadcast", "Broadcast recipients"


class AIUsage(models.Model):
    """One AI call, successful or not, with what it cost."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    purpose = models.CharField(max_length=20, choices=Purpose)
    credential = models.CharField(max_length=10, choices=Credential)
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=200, blank=True)
    ok = models.BooleanField()
    error_code = models.CharField(max_length=40, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    # None when the model is not in the price table (or the provider reported no counts).
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    price_version = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "AI call"
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self):
        provider = label_for(AI_PROVIDER, self.provider)
        return f"{self.get_purpose_display()}, {provider}, {self.created_at:%Y-%m-%d %H:%M}"


class WhatsAppUsage(models.Model):
    """One WhatsApp message the organization sent, with Meta's pricing from the webhook."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=200)
    sent_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    # From the status webhook's `pricing` object; empty / None until Meta reports it.
    pricing_category = models.CharField(max_length=40, blank=True)
    pricing_model = models.CharField(max_length=40, blank=True)
    billable = models.BooleanField(null=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = "WhatsApp message"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "message_id"], name="unique_whatsapp_usage_message"
            )
        ]
        indexes = [models.Index(fields=["organization", "sent_at"])]

    def __str__(self):
        return self.message_id


class UsageCounter(models.Model):
    """What one budget of one organization spent (and holds reserved) in one calendar month.
    Reservations and settlements lock this row, so concurrent calls see each other."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the month
    budget = models.CharField(max_length=10, choices=Budget)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    # Caps whose warning email went out this month (once each).
    warned = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "budget"], name="unique_usage_counter"
            )
        ]

    def __str__(self):
        return f"{self.organization} {self.month:%Y-%m} {self.budget}"


class AIReservation(models.Model):
    """What one AI call in flight holds on its counter (see plans.services.ai_spend). Settling
    the call deletes the row; a row left behind (its worker was killed mid-call) is released
    by the periodic task plans.tasks.release_stale_ai_reservations."""

    counter = models.ForeignKey(UsageCounter, on_delete=models.CASCADE, related_name="+")
    tokens = models.PositiveBigIntegerField()
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "AI reservation"

    def __str__(self):
        return f"{self.counter}: {self.tokens} tokens, held since {self.created_at:%H:%M:%S}"
