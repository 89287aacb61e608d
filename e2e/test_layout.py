"""Every page fits a 390 px phone and a 1280 px laptop: nothing makes the page scroll sideways
(wide tables scroll inside their own container or lay out as cards), with realistic, long data.

ADDING A PAGE: append a LayoutPage to PAGES below (its path, who opens it; the path may use the
names that `seed` returns, like "{invitation_token}"; `reach` for a page shown after a form is
sent), and give `seed` the data it needs, long values included. That is all: the one test
below checks it at both widths. A URL that is no page (POST only, a download, JSON) goes in
EXEMPT with the reason; test_layout_coverage.py fails for a URL in neither.

Set E2E_SCREENSHOTS=1 to keep a full-page screenshot of each page and width in
$E2E_ARTIFACTS/layout/ (to look at them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256
from urllib.parse import urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib import admin
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import Resolver404, resolve
from django.utils import timezone
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from aiconfig.models import AIConfig, Slot
from conftest import PASSWORD
from devtools.fakes.graph import PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.providers import VALID_KEYS
from e2e.conftest import ARTIFACTS
from messaging.models import (
    Broadcast,
    BroadcastRecipient,
    ConsentRecord,
    Contact,
    ContactGroup,
    MessageKind,
    MessageRecord,
    MessageTemplate,
    PendingContactImport,
    SendStatus,
    TemplateSync,
)
from organizations import services
from organizations.models import Membership, Organization, Plan, Role, User
from organizations.page_context import SESSION_KEY
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.e2e

WIDTHS = (390, 1280)
SCREENSHOTS = os.environ.get("E2E_SCREENSHOTS") == "1"


@dataclass(frozen=True)
class LayoutPage:
    path: str  # may use the names seed() returns: "/invitations/{invitation_token}/"
    # "anonymous", "owner" (two-factor on), "member" (no rights to manage, two-factor off),
    # "outsider" (another church, address unverified), "newcomer" (no password) or "superuser"
    who: str
    expect_status: int = 200
    # For a page reached by doing something on `path` (a form sent): does it and returns the
    # status of the page it leads to.
    reach: Callable | None = None


def _locked_out(page) -> int:
    """Fails to log in until the lockout page shows."""
    status = 0
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        page.get_by_label("Email").fill("choir@newlife.example.org")
        page.get_by_label("Password").fill("not-the-password")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Log in").click()
        status = navigation.value.status
        if status == 429:
            break
    return status


def _second_step(page) -> int:
    """Logs in with the password of a user who has two-factor sign-in: the code is asked next."""
    page.context.clear_cookies()  # a login left half done (the other width) goes
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Log in").click()
    assert "/accounts/2fa/authenticate/" in page.url, page.url
    return navigation.value.status


def _code_sent(page) -> int:
    """Asks for a code by email to confirm it is you: the page to type it in comes next."""
    page.goto("/accounts/reauthenticate/code/")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Request Code").click()
    assert "/accounts/reauthenticate/code/confirm/" in page.url, page.url
    return navigation.value.status


def _shown_as(template: str, status: int, **context) -> Callable:
    """For a page that only an outage shows (a server error, a cache that is down): the
    template as the server renders it, in the browser at the same address."""

    def reach(page) -> int:
        request = RequestFactory().get(page.url.removeprefix(page.url.split("/", 3)[2]))
        page.set_content(render_to_string(template, context, request=request))
        return status

    reach.__name__ = template.removesuffix(".html")
    return reach


# Every page of the app. Append yours (see the module docstring).
PAGES = [
    LayoutPage("/accounts/login/", "anonymous"),
    LayoutPage("/accounts/login/", "anonymous", 429, reach=_locked_out),
    LayoutPage("/accounts/register/", "anonymous"),
    LayoutPage("/accounts/password/reset/", "anonymous"),
    LayoutPage("/accounts/password/reset/done/", "anonymous"),
    LayoutPage("/accounts/password/reset/key/{reset_key}/", "anonymous"),
    LayoutPage("/accounts/password/reset/key/done/", "anonymous"),
    LayoutPage("/accounts/confirm-email/{confirm_key}/", "anonymous"),
    LayoutPage("/accounts/signup/", "anonymous"),
    LayoutPage("/accounts/confirm-email/", "anonymous"),  # "we sent you an email"
    LayoutPage("/accounts/inactive/", "anonymous"),
    LayoutPage("/accounts/email/", "owner"),
    LayoutPage("/accounts/password/change/", "owner"),
    LayoutPage("/accounts/password/set/", "newcomer"),
    LayoutPage("/accounts/logout/", "owner"),
    LayoutPage("/accounts/reauthenticate/", "owner"),
    LayoutPage("/accounts/reauthenticate/code/", "owner"),
    LayoutPage("/accounts/reauthenticate/code/confirm/", "owner", reach=_code_sent),
    # Two-factor sign-in: the owner has it on (an app, recovery codes, a security key), the
    # member has it off.
    LayoutPage("/accounts/2fa/", "owner"),
    LayoutPage("/accounts/2fa/", "member"),
    # Anonymous: the page sends back to the login form; logging in there leads to it.
    LayoutPage("/accounts/2fa/authenticate/", "anonymous", reach=_second_step),
    LayoutPage("/accounts/2fa/reauthenticate/", "owner"),
    LayoutPage("/accounts/2fa/totp/activate/", "member"),  # the QR code and the secret
    LayoutPage("/accounts/2fa/totp/deactivate/", "owner"),
    LayoutPage("/accounts/2fa/recovery-codes/", "owner"),
    LayoutPage("/accounts/2fa/recovery-codes/generate/", "owner"),
    LayoutPage("/accounts/2fa/webauthn/", "owner"),
    LayoutPage("/accounts/2fa/webauthn/add/", "owner"),
    LayoutPage("/accounts/2fa/webauthn/reauthenticate/", "owner"),
    LayoutPage("/accounts/2fa/webauthn/keys/{security_key_id}/edit/", "owner"),
    LayoutPage("/accounts/2fa/webauthn/keys/{security_key_id}/remove/", "owner"),
    LayoutPage("/invitations/{invitation_token}/", "anonymous"),
    LayoutPage("/invitations/{invitation_token}/", "outsider"),
    LayoutPage("/invitations/no-such-invitation/", "anonymous", 404),
    LayoutPage("/no-such-page/", "anonymous", 404),
    LayoutPage("/accounts/login/", "anonymous", 500, reach=_shown_as("500.html", 500)),
    LayoutPage(
        "/messages/",
        "owner",
        503,
        reach=_shown_as(
            "retry_later.html",
            503,
            message="The rate limits cannot be checked right now. Try again in a minute.",
        ),
    ),
    LayoutPage("/", "owner"),
    LayoutPage("/settings/", "owner"),
    LayoutPage("/settings/", "member"),
    LayoutPage("/settings/ai/remove/", "owner"),
    LayoutPage("/settings/ai-backup/remove/", "owner"),
    LayoutPage("/settings/whatsapp/remove/", "owner"),
    LayoutPage("/messages/", "owner"),
    LayoutPage("/messages/", "member"),
    LayoutPage("/messages/?contact={window_open_contact}", "member"),
    LayoutPage("/messages/?contact={window_closed_contact}&mode=template", "member"),
    LayoutPage("/messages/?q=Maximiliana", "member"),
    LayoutPage("/messages/templates/", "owner"),
    LayoutPage("/messages/templates/", "member"),
    LayoutPage("/organization/members/", "owner"),
    LayoutPage("/organization/members/", "member"),
    LayoutPage("/organization/activity/", "owner"),
    LayoutPage("/organization/activity/", "member", 403),
    LayoutPage("/organization/new/", "owner"),
    LayoutPage("/admin/login/", "anonymous"),
    LayoutPage("/admin/", "superuser"),
    LayoutPage("/admin/organizations/", "superuser"),
    LayoutPage("/admin/password_change/", "superuser"),
    LayoutPage("/admin/password_change/done/", "superuser"),
    LayoutPage("/admin/organizations/organization/{organization_id}/change/", "superuser"),
    LayoutPage("/admin/organizations/organization/{organization_id}/history/", "superuser"),
    LayoutPage("/admin/organizations/membership/add/", "superuser"),
    LayoutPage("/admin/organizations/user/{owner_id}/change/", "superuser"),
    LayoutPage("/admin/aiconfig/aiconfig/{ai_config_id}/change/", "superuser"),
    LayoutPage("/admin/aiconfig/aiconfig/{ai_config_id}/delete/", "superuser"),
    LayoutPage("/admin/whatsapp/whatsappconfig/{whatsapp_config_id}/change/", "superuser"),
    LayoutPage("/admin/messaging/messagerecord/{message_record_id}/change/", "superuser"),
    LayoutPage("/contacts/", "owner"),
    LayoutPage("/contacts/", "member"),
    LayoutPage("/contacts/?q=zzz-nobody", "owner"),
    LayoutPage("/contacts/new/", "owner"),
    LayoutPage("/contacts/new/", "member", 403),
    LayoutPage("/contacts/{contact_id}/", "owner"),
    LayoutPage("/contacts/{contact_id}/", "member"),
    LayoutPage("/contacts/{contact_id}/delete/", "owner"),
    LayoutPage("/contacts/groups/", "owner"),
    LayoutPage("/contacts/groups/", "member"),
    LayoutPage("/contacts/groups/{group_id}/", "owner"),
    LayoutPage("/contacts/groups/{group_id}/delete/", "owner"),
    LayoutPage("/contacts/settings/", "owner"),
    LayoutPage("/contacts/import/", "owner"),
    LayoutPage("/contacts/import/{pending_import_id}/", "owner"),
    LayoutPage("/plan/", "owner"),
    LayoutPage("/plan/", "member"),
    LayoutPage("/broadcasts/", "owner"),
    LayoutPage("/broadcasts/", "member"),
    LayoutPage("/broadcasts/new/", "owner"),
    LayoutPage("/broadcasts/new/", "member", 403),
    LayoutPage("/broadcasts/{broadcast_id}/", "owner"),
    LayoutPage("/broadcasts/{broadcast_id}/", "member"),
    LayoutPage("/admin/messaging/broadcast/{broadcast_id}/change/", "superuser"),
]
# Every list in the admin, so a new model's list is checked too.
PAGES += [
    LayoutPage(f"/admin/{model._meta.app_label}/{model._meta.model_name}/", "superuser")
    for model in admin.site._registry
]

# Named URLs that are no page to check, and why (test_layout_coverage.py keeps this and PAGES
# complete). API URLs (/api/...) and the admin's add, change, delete and history forms of each
# model (Django's templates; PAGES holds some of each) are left out there by rule.
EXEMPT = {
    "healthz": "JSON for the load balancer",
    "settings-health-check": "POST only: queues the checks, back to the Settings page",
    "settings-ai": "POST only: answers with the Settings page (in PAGES) or a redirect",
    "settings-ai-backup": "POST only: answers with the Settings page (in PAGES) or a redirect",
    "settings-whatsapp": "POST only: answers with the Settings page (in PAGES) or a redirect",
    "contacts-export": "CSV download",
    "broadcast-progress": "JSON that the broadcast page polls",
    "broadcast-report": "CSV download",
    "broadcast-cancel": "POST only: back to the broadcast page",
    "broadcast-resume": "POST only: back to the broadcast page",
    "plan-chart": "SVG image inside the Plan page",
    "whatsapp-webhook": "Meta's webhook: JSON in, an empty answer out",
    "verification-resend": "POST only: back to where it was sent from",
    "organization-switch": "POST only: a redirect",
    "member-role": "POST only: back to the members page",
    "member-remove": "POST only: back to the members page",
    "invitation-revoke": "POST only: back to the members page",
    "invitation-resend": "POST only: back to the members page",
    "account_confirm_login_code": "login by email code is off: a redirect to the login page",
    "mfa_download_recovery_codes": "text file download",
    "admin:logout": "POST only: Django's logout",
    "admin:jsi18n": "JavaScript",
    "admin:autocomplete": "JSON for the admin's search boxes",
    "admin:view_on_site": "a redirect to the object's page",
    "admin:plans_usage_export": "CSV download",
}

LONG_TEXT = (
    "Dear friends, our Christmas Eve candlelight service starts at 7 pm in the main hall. "
    "Bring your family and neighbours; children's choir at 6:30, hot chocolate afterwards. "
    "https://newlife.example.org/christmas-eve-candlelight-service-2026-programme-and-directions"
)


OWNER_EMAIL = "pastor.maximilian.oduya-fitzgerald@new-life-community-church.example.org"


def seed() -> dict[str, str]:
    """One church with long names and every kind of row its pages show; returns the values
    that page paths may use."""
    owner = User.objects.create_user(email=OWNER_EMAIL, password=PASSWORD)
    org = services.organization_create(
        name="New Life Community Church of the Greater Metropolitan Area", owner=owner
    )
    # Pro: the Settings page shows the backup key too.
    Organization.objects.filter(pk=org.pk).update(plan=Plan.PRO)
    owner_membership = Membership.objects.get(user=owner, organization=org)
    services.account_email_setup(user=owner, verified=True)
    member = User.objects.create_user(email="choir@newlife.example.org", password=PASSWORD)
    Membership.objects.create(user=member, organization=org, role=Role.MEMBER)
    second = Organization.objects.create(name="Hope Chapel", slug="hope-chapel")
    Membership.objects.create(user=owner, organization=second, role=Role.ADMIN)
    User.objects.create_superuser(email="root@example.org", password=PASSWORD)
    # Signed up with a provider (no password yet): may set one.
    User.objects.create_user(email="newcomer@newlife.example.org", password=None)
    outsider = User.objects.create_user(email="visitor@example.org", password=PASSWORD)
    unverified = services.account_email_setup(user=outsider, verified=False)

    for i in range(3):
        services.invitation_create(
            actor=owner_membership,
            email=f"volunteer.with.a.rather.long.address.{i}@new-life-community-church.example.org",
            role=Role.ADMIN,
        )
    _, invitation_token = services.invitation_create(
        actor=owner_membership, email=outsider.email, role=Role.MEMBER
    )
    services.membership_change_role(
        actor=owner_membership, membership=Membership.objects.get(user=member), role=Role.ADMIN
    )
    services.membership_change_role(
        actor=owner_membership, membership=Membership.objects.get(user=member), role=Role.MEMBER
    )

    ai_config = AIConfig.objects.create(
        organization=org,
        provider="custom",
        api_key=VALID_KEYS["custom"],
        model="qwen2.5:7b-instruct-q4_K_M-with-a-very-long-model-name",
        base_url="https://llm.internal.new-life-community-church.example.org/openai/compatible/v1",
        last_tested_at=timezone.now(),
        last_test_ok=False,
        last_error_code="insufficient_quota",
    )
    AIConfig.objects.create(
        organization=org,
        slot=Slot.BACKUP,
        provider="openai",
        api_key=VALID_KEYS["openai"],
        model="gpt-5-mini-2025-08-07-with-a-very-long-dated-model-name",
        last_tested_at=timezone.now(),
        last_test_ok=True,
    )
    whatsapp_config = WhatsAppConfig.objects.create(
        organization=org,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        access_token=VALID_TOKEN,
        app_secret="app-secret-0123456789abcdef",
        display_phone_number="+1 555-096-7852",
        verified_name="New Life Community Church of the Greater Metropolitan Area",
        last_verified_at=timezone.now(),
    )
    statuses = [
        (True, SendStatus.READ, ""),
        (True, SendStatus.DELIVERED, ""),
        (False, SendStatus.REJECTED, "outside_window"),
        (True, SendStatus.FAILED, ""),
    ]
    for i, (ok, status, error_code) in enumerate(statuses):
        record = MessageRecord.objects.create(
            organization=org,
            user=owner,
            kind=MessageKind.SEND,
            ok=ok,
            error_code=error_code,
            to="447700900123",
            text=LONG_TEXT,
            message_id=f"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTc{i}",
            status=status,
            status_error_code=131026 if status == SendStatus.FAILED else None,
        )
        MessageRecord.objects.filter(pk=record.pk).update(
            created_at=timezone.now() - timedelta(hours=i)
        )
    draft = MessageRecord.objects.create(
        organization=org,
        user=owner,
        kind=MessageKind.DRAFT,
        ok=True,
        provider="custom",
        model="qwen2.5:7b",
        input_tokens=120,
        output_tokens=80,
    )
    contact_id, group_id, pending_import_id = seed_contacts(org, owner)
    contacts = _seed_contacts_and_templates(org)
    broadcast = _seed_broadcast(org, owner)
    security_key = _seed_two_factor(owner)
    return {
        **contacts,
        "organization_id": str(org.pk),
        "owner_id": str(owner.pk),
        "ai_config_id": str(ai_config.pk),
        "whatsapp_config_id": str(whatsapp_config.pk),
        "message_record_id": str(draft.pk),
        "security_key_id": str(security_key.pk),
        "broadcast_id": broadcast.pk,
        "contact_id": str(contact_id),
        "group_id": str(group_id),
        "pending_import_id": str(pending_import_id),
        "owner": owner.email,
        "member": member.email,
        "outsider": outsider.email,
        "superuser": "root@example.org",
        "newcomer": "newcomer@newlife.example.org",
        "invitation_token": invitation_token,
        "reset_key": f"{user_pk_to_url_str(owner)}-{default_token_generator.make_token(owner)}",
        "confirm_key": EmailConfirmationHMAC(unverified).key,
    }


def seed_contacts(org, owner) -> tuple[int, int, int]:
    """Contacts with long names in long-named groups, every consent state, an open window, and
    an uploaded CSV waiting for its preview: (a contact's id, a group's id, the upload's id)."""
    groups = [
        ContactGroup.objects.create(organization=org, name=name)
        for name in (
            "Youth ministry and young adults fellowship (Friday evenings)",
            "Choir",
            "Hospitality, welcome team and Sunday coffee volunteers",
        )
    ]
    now = timezone.now()
    contact = None
    for i in range(60):
        contact = Contact.objects.create(
            organization=org,
            phone=f"+4479111234{i:02d}",
            name=f"Maximiliana Wilhelmina Oduya-Fitzgerald-Hernández the {i}th",
            language="pt_BR",
            notes=LONG_TEXT,
            last_inbound_at=now - timedelta(hours=i),
            opted_in_at=now - timedelta(days=3) if i % 3 else None,
            opt_in_source="import" if i % 3 else "",
            opted_out_at=now if i % 5 == 0 else None,
            opt_out_reason='Replied "UNSUBSCRIBE" to the Christmas broadcast' if i % 5 == 0 else "",
        )
        contact.groups.set(groups)
    ConsentRecord.objects.create(
        organization=org,
        contact=contact,
        phone=contact.phone,
        action="opt_in",
        source="import",
        detail=f"Imported by {owner.email}",
        actor=owner,
    )
    rows = [
        f"Someone with a very long name number {i},+4479112345{i:02d},pt_BR,"
        f"{groups[0].name};A brand new group with a long name,yes"
        for i in range(20)
    ]
    rows.append("Nobody,+44 12,en,,maybe")
    pending = PendingContactImport.objects.create(
        organization=org,
        created_by=owner,
        file_name="congregation-members-export-from-the-old-church-database-2026.csv",
        content="name,phone,language,groups,opted_in,unknown column with a long header\n"
        + "\n".join(rows)
        + "\n",
    )
    return contact.pk, groups[0].pk, pending.pk


def _seed_contacts_and_templates(org) -> dict[str, str]:
    """Templates in every state, and contacts with the window open and closed."""
    now = timezone.now()
    statuses = ("APPROVED", "PENDING", "REJECTED", "PAUSED")
    for i, status in enumerate(statuses):
        MessageTemplate.objects.create(
            organization=org,
            meta_id=str(1130000000000001 + i),
            name=f"christmas_eve_candlelight_service_invitation_with_directions_{i}",
            language="pt_BR",
            status=status,
            category="MARKETING",
            rejected_reason="INCORRECT_CATEGORY" if status == "REJECTED" else "",
            quality_score="YELLOW",
            components=[
                {"type": "BODY", "text": "Dear {{first_name}}, " + LONG_TEXT + " See you {{day}}!"}
            ],
            parameter_format="NAMED",
        )
    TemplateSync.objects.create(
        organization=org, finished_at=now, ok=False, error_code="token_expired"
    )
    open_contact = Contact.objects.create(
        organization=org,
        name="Maximiliana Oduya-Fitzgerald de la Cruz Santos",
        phone="+447700900123",
        last_inbound_at=now - timedelta(hours=2),
    )
    closed_contact = Contact.objects.create(
        organization=org,
        name="Maximiliana Bartholomew-Featherstonehaugh",
        phone="+447700900124",
        last_inbound_at=now - timedelta(days=3),
        opted_out_at=now - timedelta(days=1),
    )
    return {
        "window_open_contact": str(open_contact.pk),
        "window_closed_contact": str(closed_contact.pk),
    }


def _seed_broadcast(org, owner) -> Broadcast:
    """A paused broadcast with a long name and recipients in every state."""
    broadcast = Broadcast.objects.create(
        organization=org,
        name="Christmas Eve candlelight service invitation for every family of the parish 2026",
        template_name="christmas_eve_candlelight_service_invitation_with_directions",
        template_language="en_US",
        template_category="MARKETING",
        variables=["{{first_name}}"],
        status="paused",
        pause_code="messaging_limit",
        pause_reason="Your number reached its messaging limit: 250 people outside their "
        "24-hour window in 24 hours. The broadcast goes on by itself when it may.",
        created_by=owner,
        recipients_total=8,
    )
    group = ContactGroup.objects.create(organization=org, name="Families of the parish")
    for i, (status, code) in enumerate(
        [
            ("read", ""),
            ("delivered", ""),
            ("sent", ""),
            ("failed", "marketing_opted_out"),
            ("skipped", "us_number"),
            ("skipped", "no_consent"),
            ("unknown", "cut_off"),
            ("queued", ""),
        ]
    ):
        contact = Contact.objects.create(
            organization=org,
            name=f"Maximilian Oduya-Fitzgerald the {i}th of the Greater Metropolitan Area",
            phone=f"+4479119876{i:02d}",
            opted_in_at=timezone.now(),
        )
        contact.groups.add(group)
        BroadcastRecipient.objects.create(
            broadcast=broadcast,
            contact=contact,
            phone=contact.phone,
            status=status,
            error_code=code,
            sent_at=timezone.now() if status in ("read", "delivered", "sent") else None,
        )
    return broadcast


def _seed_two_factor(user) -> Authenticator:
    """Two-factor sign-in on: an authenticator app, recovery codes and a security key (as a
    browser registers it, with a long name). Returns the key."""
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    RecoveryCodes.activate(user)
    credential_id = b"security-key-of-the-pastor-0001"
    public_key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    auth_data = AuthenticatorData.create(
        sha256(b"localhost").digest(),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(Aaguid.NONE, credential_id, public_key),
    )
    client_data = CollectedClientData.create(
        type="webauthn.create", challenge=b"0" * 32, origin="http://localhost"
    )
    attestation = AttestationObject.create("none", auth_data, {})
    return Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={
            "name": "YubiKey 5C NFC on the pastor's keyring (spare one in the church office safe)",
            "credential": {
                "id": websafe_encode(credential_id),
                "rawId": websafe_encode(credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": websafe_encode(client_data),
                    "attestationObject": websafe_encode(attestation),
                },
                "clientExtensionResults": {"credProps": {"rk": False}},
            },
        },
    )


def log_in(context, live_server, email: str) -> None:
    """The session cookie of a logged-in Django client, handed to the browser."""
    client = Client()
    user = User.objects.get(email=email)
    client.force_login(user)
    if user.has_usable_password():
        # Signed in a moment ago: two-factor settings ask for the password again otherwise.
        reauthenticated = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
        assert reauthenticated.status_code == 302, reauthenticated
    # Pages act for the user's longest-named organization (the hardest to fit).
    if user.memberships.exists():
        session = client.session
        session[SESSION_KEY] = max(
            (m.organization for m in user.memberships.select_related("organization")),
            key=lambda org: len(org.name),
        ).slug
        session.save()
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (> 0: it scrolls sideways)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def _url_name(url: str) -> str:
    """The URL's name (a password reset link redirects to itself with the key hidden)."""
    path = urlsplit(url).path
    try:
        return resolve(path).view_name
    except Resolver404:
        return path


def _page_id(page: LayoutPage) -> str:
    return f"{page.who}:{page.path}" + (f":{page.reach.__name__.strip('_')}" if page.reach else "")


@pytest.mark.parametrize("layout_page", PAGES, ids=map(_page_id, PAGES))
def test_it_fits_every_screen(layout_page, browser, live_server, transactional_db, request):
    values = seed()
    context = browser.new_context(base_url=live_server.url)
    try:
        if layout_page.who != "anonymous":
            log_in(context, live_server, values[layout_page.who])
        page = context.new_page()
        path = layout_page.path.format(**values)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            status = page.goto(path).status
            if layout_page.reach is not None:
                status = layout_page.reach(page)
            assert status == layout_page.expect_status, path
            if layout_page.reach is None:  # the page itself, not one it redirects to
                assert _url_name(page.url) == _url_name(path), f"{path} led to {page.url}"
            if SCREENSHOTS:
                name = request.node.callspec.id.replace("/", "_").replace(":", "-").strip("_")
                (ARTIFACTS / "layout").mkdir(parents=True, exist_ok=True)
                page.screenshot(path=ARTIFACTS / "layout" / f"{name}-{width}.png", full_page=True)
            overflow = horizontal_overflow(page)
            assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at {width} px"
    finally:
        context.close()


def test_it_shows_times_in_the_viewers_time_zone(browser, live_server, transactional_db):
    values = seed()
    context = browser.new_context(base_url=live_server.url, timezone_id="America/Chicago")
    try:
        log_in(context, live_server, values["owner"])
        page = context.new_page()
        page.goto("/organization/activity/")
        first = page.locator("time[data-local]").first
        utc = first.get_attribute("title")
        assert utc.endswith(" UTC")  # what the page said before the script ran
        local = first.inner_text()
        assert "CST" in local or "CDT" in local or "GMT-" in local, local
    finally:
        context.close()
