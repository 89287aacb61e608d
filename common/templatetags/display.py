"""How pages show times and states: in words and shapes that need no emoji font."""

from datetime import UTC, datetime

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html

register = template.Library()


@register.filter
def when(value: datetime | None, empty: str = "never"):
    """A moment, labelled UTC, in a <time> element that app.js rewrites in the viewer's own
    time zone (so without JavaScript the time is still right, and says which zone it is in)."""
    if value is None:
        return empty
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" data-local>{} UTC</time>',
        utc.isoformat(timespec="seconds").replace("+00:00", "Z"),
        f"{utc.day} {utc:%b %Y, %H:%M}",
    )


@register.simple_tag
def icon(name: str, label: str = ""):
    """An inline SVG status icon ("ok", "fail", "pending", "read", "warn"). Decorative unless
    `label` is given, which becomes its accessible name."""
    return render_to_string("includes/icon.html", {"name": name, "label": label})
