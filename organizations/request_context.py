"""Which organization a request acts for, and who is asking."""

import ipaddress
from functools import lru_cache

from django.conf import settings

from organizations.models import Membership
from organizations.selectors import membership_for_slug

ORGANIZATION_HEADER = "X-Organization"
MEMBERSHIP_RELATED = "membership_related"

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client, for limits, the login lockout and the audit trail.

    REMOTE_ADDR, unless it is one of TRUSTED_PROXIES: then the right-most X-Forwarded-For
    entry that is not a trusted proxy (each proxy appends the address it saw; everything left
    of the last one we trust may be made up by the client)."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    remote_ip = _parse_ip(remote) if remote else None
    if not trusted or remote_ip is None or not any(remote_ip in net for net in trusted):
        return remote
    forwarded = request.headers.get("x-forwarded-for", "")
    found = None
    for entry in reversed(forwarded.split(",")):
        ip = _parse_ip(entry)
        if ip is None:  # made up or mangled: the last trusted hop is all we know
            break
        found = str(ip)
        if not any(ip in net for net in trusted):
            return found
    # Every hop is a trusted proxy (the left-most one is then the client) or none is given.
    return found or remote


def api_membership(request) -> Membership:
    """The membership an API request acts through (cached on the request).

    Raises OrganizationChoiceError (400/403/404) as the X-Organization rules say."""
    cached = getattr(request, "_api_membership", None)
    if cached is not None:
        return cached
    slug = (request.headers.get(ORGANIZATION_HEADER) or "").strip()
    # A view may ask for related rows in the same query (MEMBERSHIP_RELATED, before the
    # permission check loads the membership).
    related = getattr(request, MEMBERSHIP_RELATED, ())
    membership = membership_for_slug(user=request.user, slug=slug or None, related=related)
    request._api_membership = membership
    return membership
