"""The Activity page's sentences for contact, template and broadcast changes worth an audit row
(registered in ready())."""

from organizations import activity, audit


def _meta(event, key, default=""):
    value = (event.metadata or {}).get(key)
    return default if value in (None, "") else value


def _plural(count, word):
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _imported(event, actor):
    file_name = _meta(event, "file_name", "a CSV file")
    text = (
        f"{actor} imported {file_name}: {_plural(_meta(event, 'created', 0), 'contact')} added, "
        f"{_meta(event, 'updated', 0)} updated, {_plural(_meta(event, 'skipped', 0), 'row')} "
        "skipped"
    )
    groups = _meta(event, "groups_created", 0)
    return text + (f", {_plural(groups, 'new group')}" if groups else "")


def _exported(event, actor):
    return f"{actor} exported {_plural(_meta(event, 'contacts', 0), 'contact')} as a CSV file"


def _deleted(event, actor):
    name = _meta(event, "name")
    who = f"{name} ({event.target})" if name else event.target
    return f"{actor} deleted the contact {who}"


def _group_deleted(event, actor):
    count = _meta(event, "contacts", 0)
    return f"{actor} deleted the group {event.target} (its {_plural(count, 'contact')} stay)"


def _settings(event, actor):
    region = _meta(event, "default_region")
    if not region:
        return f"{actor} removed the default country for numbers typed without +"
    return f"{actor} set the default country for numbers typed without + to {region}"


def _template_submitted(event, actor):
    category = ((event.metadata or {}).get("category") or "").lower()
    kind = f"{category} " if category else ""
    return f"{actor} submitted the {kind}template {event.target} to Meta for review"


def _template_sync_requested(event, actor):
    return f"{actor} asked for the templates to be synced from Meta"


def _broadcast(verb):
    def sentence(event, actor):
        return f"{actor} {verb} the broadcast \u201c{event.target}\u201d"

    return sentence


def _broadcast_created(event, actor):
    total = _meta(event, "recipients", 0)
    skipped = _meta(event, "skipped", 0)
    people = "1 person" if total == 1 else f"{total} people"
    text = f"{actor} started the broadcast \u201c{event.target}\u201d to {people}"
    return text + (f" ({skipped} skipped)" if skipped else "")


def _broadcast_paused(event, actor):
    return (
        f"WhatsApp stopped the broadcast \u201c{event.target}\u201d; owners and admins were emailed"
    )


def register_sentences() -> None:
    activity.register(audit.TEMPLATE_SUBMITTED, _template_submitted)
    activity.register(audit.TEMPLATE_SYNC_REQUESTED, _template_sync_requested)
    activity.register(audit.BROADCAST_CREATED, _broadcast_created)
    activity.register(audit.BROADCAST_CANCELLED, _broadcast("cancelled"))
    activity.register(audit.BROADCAST_RESUMED, _broadcast("resumed"))
    activity.register(audit.BROADCAST_PAUSED, _broadcast_paused)
    activity.register(audit.CONTACTS_IMPORTED, _imported)
    activity.register(audit.CONTACTS_EXPORTED, _exported)
    activity.register(audit.CONTACT_DELETED, _deleted)
    activity.register(audit.CONTACT_GROUP_DELETED, _group_deleted)
    activity.register(audit.CONTACT_SETTINGS_UPDATED, _settings)
