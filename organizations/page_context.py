"""Which organization a page acts for: kept in the session, switched from the navigation."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from organizations.models import Membership
from organizations.selectors import memberships_for_user

SESSION_KEY = "organization_slug"


def page_membership(request) -> Membership | None:
    """The membership for the organization in the session, else the user's first one."""
    if hasattr(request, "_page_membership"):
        return request._page_membership
    memberships = memberships_for_user(request.user)
    slug = request.session.get(SESSION_KEY)
    membership = (
        memberships.filter(organization__slug=slug).first() if slug else None
    ) or memberships.first()
    if membership is not None and slug != membership.organization.slug:
        request.session[SESSION_KEY] = membership.organization.slug
    request._page_membership = membership
    return membership


def membership_required(view=None, *, manager: bool = False):
    """Pages that act for an organization. `manager=True` limits them to owners and admins."""

    def decorator(view_func):
        @login_required
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            membership = page_membership(request)
            if membership is None:
                return redirect("organization-new")
            if manager and not membership.can_manage:
                raise PermissionDenied("Only owners and admins can open this page.")
            request.membership = membership
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
