from organizations.page_context import page_membership
from organizations.selectors import memberships_for_user


def current_organization(request):
    """The navigation's organization switcher."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    return {
        "current_membership": page_membership(request),
        "all_memberships": memberships_for_user(user),
    }
