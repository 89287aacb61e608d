from django.conf import settings
from django.db import models

from organizations.models import Organization


class MessageKind(models.TextChoices):
    DRAFT = "draft", "AI draft"
    SEND = "send", "WhatsApp send"


class SendStatus(models.TextChoices):
    """Where a sent message stands. "accepted": Meta took it; the rest come from the webhook.
    "rejected": Meta refused it, so it was never sent."""

    ACCEPTED = "accepted", "Accepted by WhatsApp"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Not sent"


# A later webhook status only replaces an earlier one (deliveries arrive out of order).
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "rejected": 4}


class MessageRecord(models.Model):
    """One AI draft or one WhatsApp send, for an organization's history and usage."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=MessageKind)
    ok = models.BooleanField()
    error_code = models.CharField(max_length=40, blank=True)
    # Drafts: which provider and model, and the tokens they billed.
    provider = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    # Sends: from which number, to whom, what, and how far it got.
    phone_number_id = models.CharField(max_length=20, blank=True)
    to = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=SendStatus, blank=True)
    status_error_code = models.IntegerField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The table and index names it had when it lived in the whatsapp app: moving the model
        # kept every row.
        db_table = "whatsapp_messagerecord"
        indexes = [
            models.Index(
                fields=["organization", "kind", "-created_at"],
                name="whatsapp_me_organiz_280b5b_idx",
            ),
            models.Index(
                fields=["organization", "message_id"], name="whatsapp_me_organiz_f45890_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"
