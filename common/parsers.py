"""The API's JSON request parser."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from common.validators import has_lone_surrogate

SURROGATE_MESSAGE = "Contains an unpaired surrogate (\\ud800), which is not text."


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, but JSON nested deeper than Python's recursion limit (a few kilobytes
    of `[[[[…`) is a 400 parse error like any other malformed body, not a 500: DRF catches only
    ValueError and the json module raises RecursionError there."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        # JSON may write "\ud800" alone; no UTF-8 holds it, so nothing could store it or
        # even answer it (an error message quoting it would fail to encode): refused here,
        # for every endpoint, as the field it is in.
        if isinstance(data, dict) and not any(_any_lone_surrogate(key) for key in data):
            bad = [key for key, value in data.items() if _any_lone_surrogate(value)]
            if bad:
                raise ValidationError({key: [SURROGATE_MESSAGE] for key in bad})
        elif _any_lone_surrogate(data):
            raise ParseError(f"JSON parse error - {SURROGATE_MESSAGE}")
        return data


def _any_lone_surrogate(data) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
