"""The Activity page's sentences for changes of the AI provider (registered in ready())."""

from aiconfig.providers import provider_label
from organizations import activity, audit


def _what(event) -> tuple[str, str, str]:
    meta = event.metadata or {}
    label = provider_label(meta.get("provider") or event.target)
    model = f" (model {meta['model']})" if meta.get("model") else ""
    return label, model, meta.get("api_key") or "—"


def _created(event, actor):
    label, model, key = _what(event)
    return f"{actor} connected {label}{model} with the key {key}"


def _updated(event, actor):
    label, model, key = _what(event)
    if (event.metadata or {}).get("key_changed"):
        return f"{actor} changed the AI provider to {label}{model} with a new key {key}"
    return f"{actor} changed the AI provider to {label}{model}, keeping the key {key}"


def _deleted(event, actor):
    label, _, key = _what(event)
    return f"{actor} disconnected {label} and removed the key {key}"


def _backup_saved(event, actor):
    label, model, key = _what(event)
    return f"{actor} set the backup AI key: {label}{model} with the key {key}"


def _backup_deleted(event, actor):
    label, _, key = _what(event)
    return f"{actor} removed the backup {label} key {key}"


def register_sentences() -> None:
    activity.register(audit.AI_CONFIG_CREATED, _created)
    activity.register(audit.AI_CONFIG_UPDATED, _updated)
    activity.register(audit.AI_CONFIG_DELETED, _deleted)
    activity.register(audit.AI_BACKUP_CONFIG_CREATED, _backup_saved)
    activity.register(audit.AI_BACKUP_CONFIG_UPDATED, _backup_saved)
    activity.register(audit.AI_BACKUP_CONFIG_DELETED, _backup_deleted)
