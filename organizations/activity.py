"""The Activity page in sentences: "owner@grace.org invited john@example.org as Admin".

Each audit action has one sentence. The apps above register the sentences of their own actions
in their AppConfig.ready (as they subscribe to webhook events), so this module never imports
them; an action nobody registered still reads as words.
"""

from __future__ import annotations

from collections.abc import Callable

from organizations import audit
from organizations.models import AuditEvent, Role

Sentence = Callable[[AuditEvent, str], str]  # (event, actor's name) -> the whole sentence
_SENTENCES: dict[str, Sentence] = {}


def register(action: str, sentence: Sentence) -> None:
    _SENTENCES[action] = sentence


def describe(event: AuditEvent) -> str:
    """The event as one sentence, saying when staff did it from the admin."""
    actor = event.actor.email if event.actor_id and event.actor else "Someone"
    sentence = _SENTENCES.get(event.action, _fallback)
    text = sentence(event, actor)
    if (event.metadata or {}).get("via") == "admin":
        text += " (from the admin)"
    return text


def role_label(value) -> str:
    """ "admin" -> "Admin"; anything else as it is."""
    return Role(value).label if value in Role.values else str(value or "")


def _fallback(event: AuditEvent, actor: str) -> str:
    label = audit.ACTION_LABELS.get(event.action)
    what = label.lower() if label else event.action.replace(".", " ").replace("_", " ")
    return f"{actor}: {what}" + (f" ({event.target})" if event.target else "")


def _meta(event: AuditEvent, key: str, default: str = "") -> str:
    value = (event.metadata or {}).get(key)
    return default if value in (None, "") else str(value)


register(
    audit.ORGANIZATION_CREATED,
    lambda e, actor: f"{actor} created the organization",
)
register(
    audit.INVITATION_CREATED,
    lambda e, actor: f"{actor} invited {e.target} as {role_label(_meta(e, 'role'))}",
)
register(
    audit.INVITATION_ACCEPTED,
    lambda e, actor: (
        f"{actor} accepted the invitation and joined as {role_label(_meta(e, 'role'))}"
    ),
)
register(
    audit.MEMBERSHIP_ADDED,
    lambda e, actor: f"{actor} added {e.target} as {role_label(_meta(e, 'role'))}",
)
register(
    audit.MEMBERSHIP_ROLE_CHANGED,
    lambda e, actor: (
        f"{actor} changed the role of {e.target} from "
        f"{role_label(_meta(e, 'from'))} to {role_label(_meta(e, 'to'))}"
    ),
)
register(
    audit.MEMBERSHIP_REMOVED,
    lambda e, actor: f"{actor} removed {e.target} ({role_label(_meta(e, 'role'))})",
)
register(audit.MEMBERSHIP_LEFT, lambda e, actor: f"{actor} left the organization")
register(
    audit.INVITATION_REVOKED, lambda e, actor: f"{actor} withdrew the invitation of {e.target}"
)
register(
    audit.INVITATION_RESENT, lambda e, actor: f"{actor} sent the invitation of {e.target} again"
)


# Recorded by the system when a stored credential's health changes (organizations/
# credential_health.py): the target names the credential ("AI provider key").
_HEALTH_SOURCES = {
    "check": "a health check",
    "test": "a test",
    "save": "a save",
    "draft": "a draft",
    "send": "a sent message",
    "webhook": "news from Meta",
}


def _needs_attention(event: AuditEvent, actor: str) -> str:
    code = _meta(event, "error_code")
    reason = f" ({code})" if code else ""
    return f"The {event.target} needs attention{reason}: the owners and admins were emailed"


def _health_cleared(event: AuditEvent, actor: str) -> str:
    source = _meta(event, "source")
    found = f", as {_HEALTH_SOURCES[source]} showed" if source in _HEALTH_SOURCES else ""
    return f"The {event.target} works again{found}"


register(audit.CREDENTIAL_NEEDS_ATTENTION, _needs_attention)
register(audit.CREDENTIAL_HEALTH_CLEARED, _health_cleared)
