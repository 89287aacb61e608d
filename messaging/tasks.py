"""Background work of the messaging app (Huey). Thin: each task calls a service, and each is
safe to run twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from messaging import selectors, services
from messaging.broadcasts import sending as broadcast_sending
from messaging.broadcasts import services as broadcast_services


@db_task()
def sync_templates(organization_id: int) -> None:
    """Copies one organization's templates from Meta (the "Sync now" button, a webhook about
    a template we do not know yet, and the hourly run)."""
    services.template_sync_organization(organization_id=organization_id)


@db_periodic_task(crontab(minute="7"))
def sync_all_templates() -> None:
    """Hourly: every organization with WhatsApp connected gets its own sync task, so one slow
    or failing account does not hold up the others."""
    for organization_id in selectors.organizations_with_whatsapp():
        sync_templates(organization_id)


@db_task()
def send_broadcast(broadcast_id: int) -> None:
    """Sends one broadcast until it is done, paused or cancelled. Safe to run twice: only the
    consumer holding the broadcast's lease sends, and only to people still waiting."""
    broadcast_sending.broadcast_run(broadcast_id=broadcast_id)


@db_periodic_task(crontab(minute="*"))
def broadcasts_tick() -> None:
    """Every minute: starts scheduled broadcasts whose time came, resumes paused ones whose
    pause ran out, and takes over those whose consumer stopped mid-broadcast."""
    for broadcast_id in broadcast_services.broadcasts_due():
        send_broadcast(broadcast_id)
