"""Throttles for live credential tests. State lives in the default cache, so with CACHE_URL
pointing at Redis the limit holds across processes and servers."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from organizations.request_context import api_membership


class _CredentialTestThrottle(SimpleRateThrottle):
    # The view names its budget with `throttle_scope`; AI and WhatsApp tests count apart.
    scope = "credential_test"

    def get_rate(self):
        return settings.AI_KEY_TEST_RATE

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", self.scope)
        return super().allow_request(request, view)


class CredentialTestUserThrottle(_CredentialTestThrottle):
    """Limits live credential tests per user."""

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:user:{request.user.pk}"


class CredentialTestOrganizationThrottle(_CredentialTestThrottle):
    """Limits live credential tests per organization."""

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:org:{api_membership(request).organization_id}"
