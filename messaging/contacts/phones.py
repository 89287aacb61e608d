"""WhatsApp numbers as E.164 ("+5511987654321"), read with `phonenumbers`."""

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import geocoder

from common.errors import ServiceError

MAX_TYPED_LENGTH = 40
WA_ID = re.compile(r"\+?([1-9][0-9]{5,14})")


class InvalidPhone(ServiceError):
    def __init__(self, message: str):
        super().__init__(message, field="phone", code="invalid_phone")


def phone_to_e164(raw: str, *, region: str = "") -> str:
    """A number as a person typed it -> E.164. Without a leading + (or 00) the number is read
    as a number of `region` (the organization's default country). Raises InvalidPhone."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Enter the WhatsApp number.")
    if len(text) > MAX_TYPED_LENGTH or any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise InvalidPhone("This is not a phone number. Enter it like +44 7911 123456.")
    if text.startswith("00") and not region:
        text = "+" + text[2:]
    if not text.startswith("+") and not region:
        raise InvalidPhone(
            "Start the number with + and its country code (like +44 7911 123456), "
            "or choose the default country for numbers in the contact settings."
        )
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("This is not a phone number. Enter it like +44 7911 123456.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            "This number does not exist in its country's numbering plan: check the digits "
            "and the country code."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def wa_id_to_e164(wa_id: str) -> str | None:
    """A number as Meta sends it (`from`, `wa_id`, `recipient_id`: digits) or E.164 -> E.164.
    Not checked against numbering plans: Meta's word on its own users is taken as is."""
    match = WA_ID.fullmatch((wa_id or "").strip())
    return f"+{match.group(1)}" if match else None


def phone_display(e164: str) -> str:
    """ "+441632960961" -> "+44 1632 960961" for pages; the stored value when it does not parse."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_us_number(e164: str) -> bool:
    """A United States number, to which Meta does not deliver marketing templates (other +1
    countries, such as Canada, still receive them)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) == "US"


@functools.cache
def region_choices() -> list[tuple[str, str]]:
    """[("BR", "Brazil (+55)"), …] for every region phonenumbers knows, by country name."""
    choices = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        code = phonenumbers.country_code_for_region(region)
        choices.append((region, f"{name or region} (+{code})"))
    return sorted(choices, key=lambda choice: choice[1])


def is_known_region(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS
