"""The API's error bodies and the OpenAPI pieces every app shares: the X-Organization header and
the error responses each status stands for. The error serializers here both render the bodies
(common.api_errors.error_body) and document them, so the two cannot drift apart."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

ORGANIZATION_PARAMETER = OpenApiParameter(
    name="X-Organization",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Slug of the organization the request acts for. Optional when the user belongs to "
        "exactly one organization; required (else 400) when they belong to several. A slug "
        "the user is not a member of answers 404, whether or not it exists."
    ),
)


def field_errors():
    """`fields`: each input at fault, with its messages."""
    return serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each input at fault with its messages (input errors only).",
    )


class ErrorSerializer(serializers.Serializer):
    """Every API error: `{"error", "error_code", "fields"?}`. A shape with more keys is a
    subclass whose `extra_fields` declares them."""

    def extra_fields(self) -> dict:
        return {}

    # A declared attribute named `fields` would hide Serializer.fields: build them here. The
    # extra keys come first, as the bodies always had them.
    def get_fields(self):
        return {
            **self.extra_fields(),
            "error": serializers.CharField(help_text="A message to show to the person."),
            "error_code": serializers.CharField(
                required=False,
                allow_null=True,
                help_text="Stable machine-readable code, e.g. `invalid_input`, `not_found`.",
            ),
            "fields": field_errors(),
        }


class BudgetExhaustedErrorSerializer(ErrorSerializer):
    """A monthly budget is used up (`error_code: budget_exhausted`, 402)."""

    def extra_fields(self):
        return {
            "cap": serializers.CharField(
                help_text="The cap that was reached, as `GET /api/plan` names it."
            ),
            "resets_at": serializers.DateTimeField(help_text="When the budget starts again."),
        }


# The body a status stands for when it is not the plain error (the exception handler renders a
# refusal with it, and error_responses documents it).
STATUS_SERIALIZERS = {402: BudgetExhaustedErrorSerializer}


DEFAULT_DESCRIPTIONS = {
    400: (
        "The input is not valid (`fields` names each input at fault), or the user belongs to "
        "several organizations and sent no `X-Organization` header."
    ),
    401: "No access token, or it is invalid or expired.",
    402: (
        "A monthly budget is used up (`error_code: budget_exhausted`): `cap` names it and "
        "`resets_at` says when it starts again. Nothing was spent."
    ),
    403: (
        "The user's role does not allow this (owners and admins only), or the user belongs to "
        "no organization."
    ),
    404: "`X-Organization` names no organization the user belongs to.",
    409: "The organization has not set this up yet.",
    429: "Too many requests: wait and try again (see the `Retry-After` header).",
    502: "The provider (AI or WhatsApp) refused or failed; `error` says what to do.",
}


def error_responses(*statuses: int, **descriptions: str) -> dict:
    """`{status: OpenApiResponse(Error)}` for each status, with the default description or the
    one given as `d404="..."`."""
    responses = {}
    for status in statuses:
        description = descriptions.get(f"d{status}", DEFAULT_DESCRIPTIONS[status])
        serializer = STATUS_SERIALIZERS.get(status, ErrorSerializer)
        responses[status] = OpenApiResponse(serializer, description=description)
    return responses


# The statuses every endpoint acting for an organization can answer with.
ORGANIZATION_ERRORS = (400, 401, 403, 404)
