"""How django-allauth fits this project: its adapter, and what follows its account events.

Links in emails are built on SITE_URL, never on the request's Host header. A password reset is
sent only to an account's own address (not to an address it has asked to change to), so
following the link proves that address: it is then marked verified. Every password change or
reset ends the other browser sessions (Django's session hash) and every API token issued
before it (organizations/tokens.py); it also lifts the account's login lockout."""

from types import SimpleNamespace
from urllib.parse import quote, urlsplit

from allauth.account import signals as account_signals
from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa import signals as mfa_signals
from django.conf import settings
from django.contrib.auth import user_login_failed
from django.dispatch import receiver
from django.urls import reverse

from organizations import audit, services
from organizations.models import normalize_email
from organizations.request_context import client_ip


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


class AccountAdapter(DefaultAccountAdapter):
    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def send_password_reset_mail(self, user, email, context) -> None:
        # Only to the address the account logs in with: the reset then proves it.
        if normalize_email(email) != normalize_email(user.email):
            return None
        return super().send_password_reset_mail(user, email, context)

    def get_client_ip(self, request) -> str:
        return (client_ip(request) if request is not None else None) or "unknown"

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth's, with the site named from SITE_URL: no request is needed to send (an
        # email sent once the transaction commits), and no Host header ever reaches a link.
        from allauth.core import context as allauth_context

        parts = urlsplit(settings.SITE_URL)
        ctx = {
            "request": allauth_context.request,
            "email": email,
            "current_site": SimpleNamespace(name="Church Messaging", domain=parts.netloc),
        }
        ctx.update(context)
        self.render_mail(template_prefix, email, ctx).send()

    def add_message(self, request, *args, **kwargs) -> None:
        # The API has no page to show a flash message on.
        if request is not None and request.path.startswith("/api/"):
            return None
        return super().add_message(request, *args, **kwargs)


def _ip(request):
    return client_ip(request) if request is not None else None


@receiver(account_signals.password_reset)
def _after_password_reset(sender, request, user, **kwargs):
    services.account_password_reset_done(user=user, ip=_ip(request))


@receiver(account_signals.password_changed)
def _after_password_change(sender, request, user, **kwargs):
    services.account_password_changed(user=user, ip=_ip(request))


@receiver(account_signals.email_confirmed)
def _after_email_confirmed(sender, request, email_address, **kwargs):
    services.audit_record(
        organization=None,
        actor=email_address.user,
        action=audit.ACCOUNT_EMAIL_VERIFIED,
        target=email_address.email,
        ip=_ip(request),
    )


@receiver(mfa_signals.authentication_failed)
def _after_second_factor_failed(sender, request, user, authenticator, **kwargs):
    # A wrong code on the two-factor page counts as a failed login (the lockout applies), as
    # it does at POST /api/auth/token.
    if not kwargs.get("reauthentication"):
        user_login_failed.send(sender=__name__, credentials={"email": user.email}, request=request)


@receiver(mfa_signals.authenticator_added)
def _after_authenticator_added(sender, request, user, authenticator, **kwargs):
    services.audit_record(
        organization=None,
        actor=user,
        action=audit.ACCOUNT_MFA_ADDED,
        target=user.email,
        ip=_ip(request),
        metadata={"type": authenticator.type},
    )


@receiver(mfa_signals.authenticator_removed)
def _after_authenticator_removed(sender, request, user, authenticator, **kwargs):
    services.audit_record(
        organization=None,
        actor=user,
        action=audit.ACCOUNT_MFA_REMOVED,
        target=user.email,
        ip=_ip(request),
        metadata={"type": authenticator.type},
    )
