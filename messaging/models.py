import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

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


# A later webhook status only replaces an earlier one (deliveries arrive out of order):
# sent -> delivered -> read, and "failed" from any of them. Anything else Meta (or a forged
# body) says is ignored; "rejected" is ours alone (Meta refused the send).
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "rejected": 4}
WEBHOOK_STATUSES = frozenset({"sent", "delivered", "read", "failed"})


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
    # Which key served the draft: "primary", "backup" or "platform".
    credential = models.CharField(max_length=10, blank=True)
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
    # The contact it went to, when the number is one of the organization's contacts.
    contact = models.ForeignKey(
        "messaging.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Template sends: which template, and the values its variables were filled with.
    template_name = models.CharField(max_length=512, blank=True)
    template_language = models.CharField(max_length=20, blank=True)
    template_variables = models.JSONField(null=True, blank=True)

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


# --- contacts ---------------------------------------------------------------------------------

# WhatsApp allows free-form messages until 24 hours after the person's last message.
CONVERSATION_WINDOW = timedelta(hours=24)


class ContactSettings(models.Model):
    """How an organization's contacts are read: the country of numbers typed without `+`."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="contact_settings"
    )
    # ISO 3166-1 alpha-2 ("US", "BR"); blank: every number must start with + and its country code.
    default_region = models.CharField(max_length=2, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "contact settings"
        verbose_name_plural = "contact settings"

    def __str__(self):
        return f"{self.organization} · {self.default_region or 'no default country'}"


class ContactGroup(models.Model):
    """A named set of contacts ("Youth", "Choir"). Names are unique per organization,
    whatever their case."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="unique_contact_group_name")
        ]

    def __str__(self):
        return self.name


class ConsentSource(models.TextChoices):
    """Where a consent or an opt-out came from."""

    FORM = "form", "Entered on the contact form"
    API = "api", "Entered through the API"
    IMPORT = "import", "Imported from a CSV file"
    KEYWORD = "keyword", "The person sent a keyword"
    WHATSAPP = "whatsapp", "The person's WhatsApp settings"
    SEND_ERROR = "send_error", "WhatsApp refused a marketing message"


class Contact(models.Model):
    """A person the organization messages (not one of its members). `phone` is E.164."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=16)
    language = models.CharField(max_length=16, blank=True)
    groups = models.ManyToManyField(ContactGroup, blank=True, related_name="contacts")
    # Consent to marketing: given when opted_in_at is set and no later opt-out is recorded.
    opted_in_at = models.DateTimeField(null=True, blank=True)
    opt_in_source = models.CharField(max_length=20, choices=ConsentSource, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    opt_out_reason = models.CharField(max_length=200, blank=True)
    opt_out_source = models.CharField(max_length=20, choices=ConsentSource, blank=True)
    notes = models.TextField(blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "phone", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "phone"], name="unique_contact_phone")
        ]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self):
        return f"{self.name or 'Unnamed'} ({self.phone})"

    @property
    def phone_display(self) -> str:
        from messaging.contacts.phones import phone_display

        return phone_display(self.phone)

    @property
    def window_open_until(self) -> datetime | None:
        """Until when free-form messages may be sent (None: never wrote in)."""
        if self.last_inbound_at is None:
            return None
        return self.last_inbound_at + CONVERSATION_WINDOW

    @property
    def window_is_open(self) -> bool:
        until = self.window_open_until
        return until is not None and until > timezone.now()

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def has_marketing_consent(self) -> bool:
        return self.opted_in_at is not None and self.opted_out_at is None


class ConsentRecord(models.Model):
    """Every consent and opt-out, kept as evidence of who agreed to what, when and how."""

    class Action(models.TextChoices):
        OPT_IN = "opt_in", "Opted in"
        OPT_OUT = "opt_out", "Opted out"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # Kept when the contact is deleted: a number that opted out stays opted out when it is
    # added again (the new contact takes over these records).
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_records"
    )
    phone = models.CharField(max_length=16)
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=20, choices=ConsentSource)
    detail = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "phone"])]

    def __str__(self):
        return f"{self.phone} {self.action} ({self.source})"


class PendingContactImport(models.Model):
    """An uploaded CSV waiting for the person to confirm its preview (pages only)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


# --- message templates ------------------------------------------------------------------------

# {{1}} or {{first_name}}: the variables of a template's text.
TEMPLATE_VARIABLE = r"\{\{\s*([a-z0-9_]+)\s*\}\}"

# Meta's template statuses in words, for the pages.
TEMPLATE_STATUS_WORDS = {
    "APPROVED": "Approved: ready to send",
    "PENDING": "Waiting for Meta's review",
    "REJECTED": "Rejected by Meta",
    "PAUSED": "Paused by Meta for low quality",
    "DISABLED": "Disabled by Meta",
    "IN_APPEAL": "Rejection under appeal",
    "FLAGGED": "Flagged for low quality",
    "PENDING_DELETION": "Being deleted",
    "DELETED": "Deleted",
    "ARCHIVED": "Archived",
    "LIMIT_EXCEEDED": "Over Meta's template limit",
    "LOCKED": "Locked by Meta",
}
TEMPLATE_CATEGORY_WORDS = {
    "MARKETING": "Marketing",
    "UTILITY": "Utility",
    "AUTHENTICATION": "Authentication",
}


class MessageTemplate(models.Model):
    """The organization's copy of one of its WhatsApp templates at Meta (one per name and
    language). Meta is the source of truth: the sync and the template webhooks overwrite it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    meta_id = models.CharField(max_length=40)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=20)
    status = models.CharField(max_length=40)
    category = models.CharField(max_length=40, blank=True)
    components = models.JSONField(default=list, blank=True)
    parameter_format = models.CharField(max_length=20, default="POSITIONAL")
    quality_score = models.CharField(max_length=40, blank=True)
    rejected_reason = models.CharField(max_length=40, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "language"], name="unique_template_per_language"
            )
        ]
        indexes = [models.Index(fields=["organization", "meta_id"])]

    def __str__(self):
        return f"{self.name} ({self.language})"

    def _component(self, kind: str) -> dict:
        for component in self.components if isinstance(self.components, list) else []:
            if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
                return component
        return {}

    @property
    def body(self) -> str:
        text = self._component("BODY").get("text")
        return text if isinstance(text, str) else ""

    @property
    def variables(self) -> list[str]:
        """The body's variables in order of first use: names, or "1", "2"… when positional."""
        return template_variables(self.body)

    @property
    def is_named(self) -> bool:
        return self.parameter_format == "NAMED"

    @property
    def status_words(self) -> str:
        return TEMPLATE_STATUS_WORDS.get(self.status, self.status.replace("_", " ").capitalize())

    @property
    def category_words(self) -> str:
        return TEMPLATE_CATEGORY_WORDS.get(self.category, self.category.capitalize())

    @property
    def unsupported_reason(self) -> str:
        """Why this app cannot fill the template in, or "" when it can (body variables only)."""
        header = self._component("HEADER")
        if header:
            if str(header.get("format", "TEXT")).upper() != "TEXT":
                return "Its header has an image, video or document, which this app cannot send."
            if re.search(TEMPLATE_VARIABLE, str(header.get("text", ""))):
                return "Its header has a variable, which this app cannot fill in."
        for button in self._component("BUTTONS").get("buttons") or []:
            url = button.get("url", "") if isinstance(button, dict) else ""
            if re.search(TEMPLATE_VARIABLE, str(url)):
                return "One of its buttons has a variable link, which this app cannot fill in."
        return ""

    @property
    def sendable(self) -> bool:
        return self.status == "APPROVED" and not self.unsupported_reason


def template_variables(text: str) -> list[str]:
    found: list[str] = []
    for name in re.findall(TEMPLATE_VARIABLE, text or ""):
        if name not in found:
            found.append(name)
    if found and all(name.isdigit() for name in found):
        found.sort(key=int)
    return found


class TemplateSync(models.Model):
    """When the organization's templates were last synced from Meta, and how it went."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    error_code = models.CharField(max_length=40, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"Template sync of {self.organization_id}"


class SendRateSlot(models.Model):
    """The next moment one WhatsApp number may send (epoch seconds): every consumer claims its
    slot here, so the per-number rate holds across all of them together."""

    phone_number_id = models.CharField(max_length=20, unique=True)
    next_at = models.FloatField(default=0.0)

    def __str__(self):
        return self.phone_number_id


class SendPair(models.Model):
    """One WhatsApp number and one person it messages (digits), shared by every consumer: when
    the number may message them next (Meta refuses two messages to one person closer than
    about 6 seconds), and since when they count against the number's messaging limit (None:
    not counted, or given back after a send that failed)."""

    phone_number_id = models.CharField(max_length=20)
    to = models.CharField(max_length=20)
    # Epoch seconds, like SendRateSlot.next_at: claimed with one conditional UPDATE.
    next_at = models.FloatField(default=0.0)
    reached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone_number_id", "to"], name="unique_send_pair")
        ]
        indexes = [models.Index(fields=["phone_number_id", "reached_at"])]

    def __str__(self):
        return f"{self.phone_number_id} → {self.to}"


class MessagingLimitLock(models.Model):
    """One row per WhatsApp number, locked while its people are counted against the messaging
    limit and one more is reserved: broadcasts and consumers sending from the number at once
    count one after another, so together they cannot exceed it."""

    phone_number_id = models.CharField(max_length=20, unique=True)
    counted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.phone_number_id


class BroadcastStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Broadcast(models.Model):
    """One approved template sent to many contacts by the task engine, within Meta's limits."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    template_name = models.CharField(max_length=512)
    template_language = models.CharField(max_length=20)
    # The template's category when the broadcast was made: marketing needs marketing consent.
    template_category = models.CharField(max_length=40, blank=True)
    # What fills the template's variables: a list (positional) or an object (named); a value
    # may name a contact field, e.g. "{{first_name}}".
    variables = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=BroadcastStatus, default=BroadcastStatus.QUEUED
    )
    # Why it is paused (words for people) and our error code, and when it may go on by itself.
    pause_reason = models.CharField(max_length=300, blank=True)
    pause_code = models.CharField(max_length=40, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recipients_total = models.PositiveIntegerField(default=0)
    # The consumer that drives the broadcast holds it until then and renews it while sending;
    # a consumer killed mid-broadcast lets it lapse, and another one takes over.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["status", "scheduled_at"]),
        ]

    def __str__(self):
        return self.name


class RecipientStatus(models.TextChoices):
    QUEUED = "queued", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    # The send was cut off mid-call (the consumer stopped): Meta may or may not have taken it,
    # so it is not sent again.
    UNKNOWN = "unknown", "Unknown"
    CANCELLED = "cancelled", "Not sent (cancelled)"


class BroadcastRecipient(models.Model):
    """One person of a broadcast. (broadcast, phone) is unique: nobody gets it twice."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(
        "Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(max_length=16)
    status = models.CharField(
        max_length=20, choices=RecipientStatus, default=RecipientStatus.QUEUED
    )
    # Why it was skipped or failed (our code), and Meta's code when Meta gave one.
    error_code = models.CharField(max_length=40, blank=True)
    meta_error_code = models.IntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not before then (a throughput or per-person back-off).
    not_before = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "phone"], name="unique_broadcast_phone")
        ]
        indexes = [
            models.Index(fields=["broadcast", "status"]),
            models.Index(fields=["message_id"]),
        ]

    def __str__(self):
        return f"{self.phone} ({self.status})"
