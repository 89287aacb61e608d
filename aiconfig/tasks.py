"""Background tasks of the AI settings (Huey). Thin: they call aiconfig/health.py."""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from aiconfig import health
from aiconfig.models import AIConfig
from common.credential_health import claim_due_checks

# A check that finds another check of the organization running tries again a little later.
CLAIM_RETRIES = 5
CLAIM_RETRY_DELAY = 10


@db_task(retries=CLAIM_RETRIES, retry_delay=CLAIM_RETRY_DELAY)
def check_ai_key(organization_id: int, due=None):
    """Re-tests one organization's stored AI key."""
    result = health.ai_health_check(organization_id=organization_id, due=due)
    return result.outcome.value if result else None


@db_periodic_task(crontab(minute="*"))
def ai_health_round():
    """Every minute: queues the checks due within the next minute, each at its time."""
    now = timezone.now()
    for organization_id, due in claim_due_checks(AIConfig, now=now, horizon=timedelta(minutes=1)):
        check_ai_key.schedule(args=(organization_id, due), eta=due)
