from rest_framework.permissions import SAFE_METHODS, BasePermission

from organizations.request_context import api_membership

MANAGERS_ONLY = "Only owners and admins of this organization can do this."


class IsOrganizationMember(BasePermission):
    """Any member of the organization the request acts for."""

    def has_permission(self, request, view):
        return api_membership(request) is not None


class IsOrganizationManager(BasePermission):
    """An owner or admin of the organization the request acts for."""

    message = MANAGERS_ONLY

    def has_permission(self, request, view):
        return api_membership(request).can_manage


class IsManagerOrReadOnly(BasePermission):
    """Any member reads; owners and admins write."""

    message = MANAGERS_ONLY

    def has_permission(self, request, view):
        membership = api_membership(request)
        return request.method in SAFE_METHODS or membership.can_manage
