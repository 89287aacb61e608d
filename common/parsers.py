"""The API's JSON request parser."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, but JSON nested deeper than Python's recursion limit (a few kilobytes
    of `[[[[…`) is a 400 parse error like any other malformed body, not a 500: DRF catches only
    ValueError and the json module raises RecursionError there."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
