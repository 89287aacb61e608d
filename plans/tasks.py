"""Background work of the plans app (Huey). Thin: each task calls a service, and each is safe
to run twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from plans import services


@db_periodic_task(crontab(minute="*/5"))
def release_stale_ai_reservations() -> int:
    """Every five minutes: gives back budget reservations whose call never settled."""
    return services.ai_reservations_release_stale()
