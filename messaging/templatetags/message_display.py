"""A sent message's state in words and an icon that needs no emoji font."""

from django import template
from django.utils.html import format_html

from common.templatetags.display import icon
from messaging.models import MessageRecord, SendStatus

register = template.Library()

# Our classified send errors (whatsapp.graph) and Meta's delivery failure codes, in a few words.
REASONS = {
    "recipient_not_allowed": "not on the test number's allowed list",
    "outside_window": "the 24-hour window was closed",
    "undeliverable": "the number is not on WhatsApp",
    "invalid_recipient": "WhatsApp does not accept this number",
    "invalid_token": "Meta rejected the access token",
    "token_expired": "the access token has expired",
    "not_found": "Meta does not know the phone number ID",
    "permission_denied": "the access token lacks permissions",
    "rate_limited": "Meta was limiting requests",
    "timeout": "Meta did not answer in time",
    "unreachable": "Meta could not be reached",
    "invalid_response": "Meta's answer was not understood",
    "provider_error": "Meta reported an error",
    131026: "the number is not on WhatsApp",
    131047: "the 24-hour window was closed",
    131049: "held back by WhatsApp to keep engagement healthy",
    131050: "the person stopped marketing messages",
    131056: "too many messages to this person in a short time",
    131048: "held back by WhatsApp's spam limit",
    131042: "a payment problem on the Meta account",
    131031: "the WhatsApp account is locked",
}
ICONS = {
    SendStatus.ACCEPTED: ("pending", "status-pending"),
    SendStatus.SENT: ("ok", "status-ok"),
    SendStatus.DELIVERED: ("ok", "status-ok"),
    SendStatus.READ: ("read", "status-ok"),
    SendStatus.FAILED: ("fail", "status-fail"),
    SendStatus.REJECTED: ("fail", "status-fail"),
}


def failure_reason(record: MessageRecord) -> str:
    code = record.status_error_code or record.error_code
    if not code:
        return ""
    return REASONS.get(code) or f"WhatsApp error {code}"


@register.filter
def send_status(record: MessageRecord):
    """Icon, status and, when it failed, why: "✓ Delivered", "✗ Not sent: the number is…"."""
    name, css = ICONS.get(record.status, ("pending", "status-pending"))
    label = record.get_status_display() or ("Sent" if record.ok else "Not sent")
    reason = failure_reason(record) if css == "status-fail" else ""
    return format_html(
        '<span class="status {}">{}<span>{}{}</span></span>',
        css,
        icon(name),
        label,
        f": {reason}" if reason else "",
    )


@register.filter
def recipient_reason(code: str) -> str:
    """Why a broadcast recipient was skipped or not sent, in words."""
    from messaging.broadcasts.selectors import recipient_reason as reason

    return reason(code)
