"""Background tasks of the Settings page (Huey). Thin: they call settings_page/health.py."""

from huey.contrib.djhuey import db_task

from common.tasks import retried_when_busy
from settings_page import health

# "Check now" that finds a periodic check of the organization running tries again shortly.
CLAIM_RETRIES = 5
CLAIM_RETRY_DELAY = 5


@db_task(retries=CLAIM_RETRIES, retry_delay=CLAIM_RETRY_DELAY, context=True)
def check_now(organization_id: int, due, sections: list[str], task=None):
    """ "Check now": the organization's stored credentials, checked one after another."""
    with retried_when_busy(task):
        return health.health_check_run(organization_id=organization_id, due=due, sections=sections)
