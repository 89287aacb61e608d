"""Credential health across both integrations: "Check now" (queue both checks), the banner that
owners and admins see on every page while a credential needs attention, and whether checks
asked for a moment ago are still running."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from aiconfig.health import ai_health_check
from common.credential_health import HealthStatus, health_summary
from common.errors import NotAllowed
from common.throttles import RateLimited, credential_test_wait
from organizations.models import Membership
from settings_page.sections import SECTIONS
from whatsapp.health import token_expires_soon, whatsapp_health_check
from whatsapp.models import WhatsAppConfig

# Each integration's check, by its settings section (the AI check covers every stored key).
CHECKS = {"ai": ai_health_check, "whatsapp": whatsapp_health_check}


def health_check_request(*, membership: Membership, ip: str | None = None) -> list[str]:
    """Queues a check of every stored credential of the organization now (owners and admins;
    counted like a credential test). Returns the sections queued (e.g. ["ai", "whatsapp"]);
    the results land in the credentials' health when the consumer has run them."""
    from settings_page.tasks import check_now  # the task module imports this one

    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can check the connections.")
    wait = credential_test_wait(scope="health_check", membership=membership, ip=ip)
    if wait:
        raise RateLimited(wait)
    queued = [
        declaration.slug
        for declaration in SECTIONS
        if declaration.slug in CHECKS
        and declaration.config_for(membership.organization) is not None
    ]
    if queued:
        # One task runs them one after another: queued as two, they would race for the
        # organization's claim and one would wait for a retry. The due time makes a retry
        # (after a partial run) skip what was checked already.
        check_now(membership.organization_id, timezone.now(), queued)
    return queued


def health_check_run(*, organization_id: int, due: datetime, sections: list[str]) -> dict:
    """Runs the checks "Check now" queued, one after another (each holds the organization's
    claim in turn). A check already made since `due` is not made again. Returns each section's
    outcome (None when nothing was checked)."""
    results = {}
    for slug in sections:
        result = CHECKS[slug](organization_id=organization_id, due=due)
        results[slug] = result.outcome.value if result else None
    return results


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
            alerts.append(_token_alert(config, f"{url}#{declaration.slug}"))
    return alerts


def _token_alert(config: WhatsAppConfig, url: str) -> Alert:
    """The WhatsApp token expires soon, or expired already (told in the past)."""
    when = config.token_expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if config.token_expires_at <= timezone.now():
        title = f"The WhatsApp access token expired on {when}"
        then = ": messages cannot be sent until then."
    else:
        title = f"The WhatsApp access token expires on {when}"
        then = " before then, or messages stop."
    return Alert(
        title=title,
        message=(
            "Create a permanent access token for a system user in Meta Business Settings and "
            f"save it here{then}"
        ),
        url=url,
        level="warning",
    )


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
