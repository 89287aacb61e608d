"""Which organization a request acts for, and who is asking."""

from organizations.models import Membership
from organizations.selectors import membership_for_slug

ORGANIZATION_HEADER = "X-Organization"


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None


def api_membership(request) -> Membership:
    """The membership an API request acts through (cached on the request).

    Raises OrganizationChoiceError (400/403/404) as the X-Organization rules say."""
    cached = getattr(request, "_api_membership", None)
    if cached is not None:
        return cached
    slug = (request.headers.get(ORGANIZATION_HEADER) or "").strip()
    membership = membership_for_slug(user=request.user, slug=slug or None)
    request._api_membership = membership
    return membership
