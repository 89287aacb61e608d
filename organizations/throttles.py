"""The API's throttle for live credential tests: it needs the acting membership."""

from common.throttles import CountingThrottle, credential_test_wait
from organizations.request_context import api_membership, client_ip


class CredentialTestThrottle(CountingThrottle):
    """Limits live credential tests per user, per organization and per client address (the
    view's throttle_scope).

    Only POST (a test) and PUT (a save, which tests first) reach the provider; reads and
    deletes on the same view are not counted."""

    def count(self, request, view):
        if request.method not in ("POST", "PUT"):
            return None
        scope = getattr(view, "throttle_scope", "credential_test")
        return credential_test_wait(
            scope=scope, membership=api_membership(request), ip=client_ip(request)
        )
