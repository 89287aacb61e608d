"""Credential health across both integrations: "Check now" (queue both checks), the banner that
owners and admins see on every page while a credential needs attention, and whether checks
asked for a moment ago are still running."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from aiconfig.tasks import check_ai_key
from common.credential_health import HealthStatus, health_summary
from common.errors import NotAllowed
from common.throttles import RateLimited, credential_test_wait
from organizations.models import Membership
from settings_page.sections import SECTIONS
from whatsapp.health import token_expires_soon
from whatsapp.models import WhatsAppConfig
from whatsapp.tasks import check_whatsapp

# Each integration's check task, by its settings section.
CHECK_TASKS = {"ai": check_ai_key, "whatsapp": check_whatsapp}


def health_check_request(*, membership: Membership, ip: str | None = None) -> list[str]:
    """Queues a check of every stored credential of the organization now (owners and admins;
    counted like a credential test). Returns the sections queued (e.g. ["ai", "whatsapp"]);
    the results land in the credentials' health when the consumer has run them."""
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can check the connections.")
    wait = credential_test_wait(scope="health_check", membership=membership, ip=ip)
    if wait:
        raise RateLimited(wait)
    queued = []
    for declaration in SECTIONS:
        task = CHECK_TASKS.get(declaration.slug)
        if task is not None and declaration.config_for(membership.organization) is not None:
            task(membership.organization_id)
            queued.append(declaration.slug)
    return queued


@dataclass(frozen=True)
class Alert:
    """One line of the banner."""

    title: str
    message: str
    url: str
    level: str  # "attention" | "warning"


def health_alerts(membership: Membership | None) -> list[Alert]:
    """What owners and admins must know on every page: credentials that need attention, and
    a WhatsApp token that expires soon. Nothing for members (they cannot fix it)."""
    if membership is None or not membership.can_manage:
        return []
    alerts = []
    url = reverse("settings")
    for declaration in SECTIONS:
        config = declaration.config_for(membership.organization)
        if config is None or declaration.health_advice is None:
            continue
        if config.health_status == HealthStatus.NEEDS_ATTENTION:
            summary = health_summary(config, declaration.health_advice)
            alerts.append(
                Alert(
                    title=f"{declaration.title} needs attention",
                    message=summary["message"],
                    url=f"{url}#{declaration.slug}",
                    level="attention",
                )
            )
        elif isinstance(config, WhatsAppConfig) and token_expires_soon(config):
            when = config.token_expires_at.strftime("%Y-%m-%d %H:%M UTC")
            alerts.append(
                Alert(
                    title=f"The WhatsApp access token expires on {when}",
                    message=(
                        "Create a permanent access token for a system user in Meta Business "
                        "Settings and save it here before then, or messages stop."
                    ),
                    url=f"{url}#{declaration.slug}",
                    level="warning",
                )
            )
    return alerts


def checks_pending(organization, since: datetime | None) -> bool:
    """Checks asked for at `since` (a "Check now") have not all reported yet; after two
    minutes the page stops waiting (a consumer that is not running)."""
    if since is None or (timezone.now() - since).total_seconds() > 120:
        return False
    for declaration in SECTIONS:
        config = declaration.config_for(organization)
        if config is not None and (
            config.last_checked_at is None or config.last_checked_at < since
        ):
            return True
    return False
