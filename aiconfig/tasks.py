"""Background tasks of the AI settings (Huey). Thin: they call aiconfig/health.py."""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from aiconfig import health
from aiconfig.models import AIConfig
from common.credential_health import claim_due_checks
from common.tasks import retried_when_busy

# A check that finds another check of the organization running tries again a little later.
CLAIM_RETRIES = 5
CLAIM_RETRY_DELAY = 10


@db_task(retries=CLAIM_RETRIES, retry_delay=CLAIM_RETRY_DELAY, context=True)
def check_ai_key(organization_id: int, due=None, config_id=None, task=None):
    """Re-tests one stored AI key of an organization (every one when config_id is None)."""
    with retried_when_busy(task):
        result = health.ai_health_check(
            organization_id=organization_id, due=due, config_id=config_id
        )
    return result.outcome.value if result else None


@db_periodic_task(crontab(minute="*"))
def ai_health_round():
    """Every minute: queues the checks due within the next minute, each at its time."""
    now = timezone.now()
    for check in claim_due_checks(AIConfig, now=now, horizon=timedelta(minutes=1)):
        check_ai_key.schedule(args=(check.organization_id, check.due, check.pk), eta=check.due)
