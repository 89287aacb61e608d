"""What each plan allows. Adding or changing a plan is one entry in PLANS; the services
enforce it (never the views). Limits that operators may want to tune come from settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from organizations.models import Organization, Plan


@dataclass(frozen=True)
class PlanSpec:
    id: str
    label: str
    own_key: bool  # may bring its own AI key (the primary)
    backup_key: bool  # may add a second own key used when the first one fails
    platform_key: bool  # may use the platform's managed AI key
    broadcast_recipients_setting: str  # setting holding the monthly recipients; None = unlimited
    summary: str

    @property
    def broadcast_recipients(self) -> int | None:
        """Broadcast recipients per calendar month; None means unlimited."""
        return getattr(settings, self.broadcast_recipients_setting)

    def includes(self) -> list[str]:
        """What the plan includes, in words, for the Plan and usage page."""
        lines = ["Your own AI key (you pay your provider directly)"]
        if self.backup_key:
            lines.append("A backup AI key, used when your main key fails or is rate limited")
        if self.platform_key:
            lines.append("The platform's managed AI key, within a monthly budget")
        recipients = self.broadcast_recipients
        lines.append(
            "Unlimited broadcast recipients"
            if recipients is None
            else f"Broadcasts to up to {recipients:,} recipients a month"
        )
        return lines


PLANS: dict[str, PlanSpec] = {
    spec.id: spec
    for spec in (
        PlanSpec(
            id=Plan.FREE,
            label="Free",
            own_key=True,
            backup_key=False,
            platform_key=False,
            broadcast_recipients_setting="PLAN_FREE_BROADCAST_RECIPIENTS",
            summary="Bring your own AI key; limited broadcasts.",
        ),
        PlanSpec(
            id=Plan.PRO,
            label="Pro",
            own_key=True,
            backup_key=True,
            platform_key=False,
            broadcast_recipients_setting="PLAN_PRO_BROADCAST_RECIPIENTS",
            summary="Bring your own AI key and a backup key; unlimited broadcasts.",
        ),
        PlanSpec(
            id=Plan.ENTERPRISE,
            label="Enterprise",
            own_key=True,
            backup_key=True,
            platform_key=True,
            broadcast_recipients_setting="PLAN_ENTERPRISE_BROADCAST_RECIPIENTS",
            summary="The platform's managed AI key with a monthly budget, or your own keys.",
        ),
    )
}


def get_plan(plan_id: str) -> PlanSpec:
    """The spec for `plan_id`; an unknown id (a plan since removed) reads as the default."""
    return PLANS.get(plan_id) or PLANS[settings.DEFAULT_PLAN]


def plan_for(organization: Organization) -> PlanSpec:
    return get_plan(organization.plan)
