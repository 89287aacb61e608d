"""Background tasks of the WhatsApp settings (Huey). Thin: they call whatsapp/health.py."""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from common.credential_health import claim_due_checks
from common.tasks import retried_when_busy
from whatsapp import health
from whatsapp.models import WhatsAppConfig

# A check that finds another check of the organization running tries again a little later.
CLAIM_RETRIES = 5
CLAIM_RETRY_DELAY = 10


@db_task(retries=CLAIM_RETRIES, retry_delay=CLAIM_RETRY_DELAY, context=True)
def check_whatsapp(organization_id: int, due=None, task=None):
    """Re-checks one organization's WhatsApp token and number."""
    with retried_when_busy(task):
        result = health.whatsapp_health_check(organization_id=organization_id, due=due)
    return result.outcome.value if result else None


@db_periodic_task(crontab(minute="*"))
def whatsapp_health_round():
    """Every minute: queues the checks due within the next minute, each at its time."""
    now = timezone.now()
    for check in claim_due_checks(WhatsAppConfig, now=now, horizon=timedelta(minutes=1)):
        check_whatsapp.schedule(args=(check.organization_id, check.due), eta=check.due)
