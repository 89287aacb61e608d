from organizations.page_context import page_membership
from settings_page.health import health_alerts


def credential_health(request):
    """The banner of credentials that need attention (owners and admins, every page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    return {"health_alerts": health_alerts(page_membership(request))}
