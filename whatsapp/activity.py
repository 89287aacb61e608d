"""The Activity page's sentences for changes of the WhatsApp connection (registered in
ready())."""

from datetime import datetime

from organizations import activity, audit


def _number(event) -> str:
    meta = event.metadata or {}
    number = meta.get("display_phone_number")
    phone_id = meta.get("phone_number_id") or event.target
    return f"{number} (phone number ID {phone_id})" if number else f"phone number ID {phone_id}"


def _created(event, actor):
    token = (event.metadata or {}).get("access_token") or "—"
    return f"{actor} connected the WhatsApp number {_number(event)} with the access token {token}"


def _updated(event, actor):
    meta = event.metadata or {}
    text = f"{actor} updated the WhatsApp connection of {_number(event)}"
    if meta.get("token_changed"):
        text += f" with a new access token {meta.get('access_token') or '—'}"
    return text


def _deleted(event, actor):
    return f"{actor} disconnected the WhatsApp number {_number(event)}"


def _token_expiring(event, actor):
    expires_at = (event.metadata or {}).get("expires_at") or ""
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return "The owners and admins were warned by email that the WhatsApp access token expires"
    verb = "expired" if when <= event.created_at else "expires"
    return (
        "The owners and admins were warned by email that the WhatsApp access token "
        f"{verb} on {when:%Y-%m-%d %H:%M} UTC"
    )


def register_sentences() -> None:
    activity.register(audit.WHATSAPP_CONFIG_CREATED, _created)
    activity.register(audit.WHATSAPP_CONFIG_UPDATED, _updated)
    activity.register(audit.WHATSAPP_CONFIG_DELETED, _deleted)
    activity.register(audit.WHATSAPP_TOKEN_EXPIRING, _token_expiring)
