"""What fills a broadcast's template for one person: a fixed text, or a field of the contact
written as `{{first_name}}`, `{{name}}`, `{{phone}}` or `{{language}}`."""

import re

from messaging.models import Contact

CONTACT_FIELD = re.compile(r"^\{\{\s*(first_name|name|phone|language)\s*\}\}$")
CONTACT_FIELDS = ("first_name", "name", "phone", "language")
# Said instead of an empty name, so a greeting still reads well.
NAMELESS = "friend"


def contact_field(contact: Contact | None, field: str) -> str:
    if contact is None:
        return ""
    if field == "first_name":
        return (contact.name or "").split(" ")[0] or NAMELESS
    if field == "name":
        return contact.name or NAMELESS
    return getattr(contact, field, "") or ""


def contact_values(variables, contact: Contact | None):
    """The broadcast's variables with each contact field replaced by this contact's value (a
    list stays a list, an object stays an object); other values are kept as they are."""

    def fill(value):
        match = CONTACT_FIELD.match(value) if isinstance(value, str) else None
        return contact_field(contact, match.group(1)) if match else value

    if isinstance(variables, dict):
        return {key: fill(value) for key, value in variables.items()}
    if isinstance(variables, list):
        return [fill(value) for value in variables]
    return variables
