"""Background work of the messaging app (Huey). Thin: each task calls a service, and each is
safe to run twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from messaging import selectors, services


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
