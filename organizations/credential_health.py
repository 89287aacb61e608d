"""Recording a stored credential's health (common/credential_health.py holds the rules), with
what comes with a change: an audit event, and one email to the owners and admins when the
credential starts needing attention. Used by aiconfig/ and whatsapp/ for their credentials."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from common.credential_health import HEALTH_FIELDS, Change, CheckResult, apply_result
from organizations import audit
from organizations.models import MANAGER_ROLES, Organization
from organizations.services import audit_record

# Re-exported under their former names (callers and tests knew them from here).
NEEDS_ATTENTION = audit.CREDENTIAL_NEEDS_ATTENTION
CLEARED = audit.CREDENTIAL_HEALTH_CLEARED


def manager_emails(organization: Organization) -> list[str]:
    """The owners' and admins' addresses."""
    return list(
        organization.memberships.filter(role__in=MANAGER_ROLES, user__is_active=True)
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )


def managers_email(*, organization: Organization, subject: str, body: str) -> int:
    """Emails every owner and admin (one message each: nobody sees the others' addresses)."""
    recipients = manager_emails(organization)
    return send_mass_mail([(subject, body, None, [email]) for email in recipients])


def settings_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("settings")


def credential_health_record(
    *,
    model: type[models.Model],
    pk: int,
    result: CheckResult,
    credential: str,
    advice: Callable[[str], str],
    source: str,
) -> tuple[models.Model | None, Change | None]:
    """Applies one check result to the stored credential `model(pk)` and records the change.

    `credential` names it for people ("AI provider key"); `advice(error_code)` tells them what
    to do; `source` says what saw the result (check, test, save, draft, send, webhook). Returns
    (credential, change), or (None, None) when the credential was removed meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        stored = model.objects.select_for_update().select_related("organization").filter(pk=pk)
        instance = stored.first()
        if instance is None:
            return None, None
        change = apply_result(instance, result, now)
        organization = instance.organization
        if change.entered_attention:
            instance.attention_notified_at = now
            audit_record(
                organization=organization,
                actor=None,
                action=audit.CREDENTIAL_NEEDS_ATTENTION,
                target=credential,
                metadata={"error_code": result.error_code, "source": source},
            )
            message = advice(result.error_code)
            transaction.on_commit(
                lambda: managers_email(
                    organization=organization,
                    subject=f"{organization.name}: the {credential} needs attention",
                    body=(
                        f"Hello,\n\nThe {credential} of {organization.name} stopped working, "
                        f"so messages may fail until it is fixed.\n\n{message}\n\n"
                        f"Open the settings: {settings_url()}\n\nYou receive this email once; "
                        "the settings page shows the problem until it is solved."
                    ),
                )
            )
        elif change.cleared:
            audit_record(
                organization=organization,
                actor=None,
                action=audit.CREDENTIAL_HEALTH_CLEARED,
                target=credential,
                metadata={"source": source},
            )
        instance.save(update_fields=HEALTH_FIELDS)
    return instance, change
