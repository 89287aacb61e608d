"""The Settings page: one section per credential declaration (settings_page/sections.py), and
one set of views doing test → keep the tested secret → save → remove for all of them. Thin:
the declared services do the work."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from common import tested_secrets
from common.credential_health import health_summary
from common.credentials import CredentialForm, CredentialSettings
from common.encryption import mask_secret
from common.errors import ServiceError
from common.throttles import credential_test_wait, too_many_message
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from settings_page import health
from settings_page.sections import SECRET_FIELDS, SECTIONS

# The session remembers when "Check now" was pressed, so the page can wait for the results.
CHECK_REQUESTED_KEY = "health_check_requested_at"


def form_ids(declaration: CredentialSettings) -> dict:
    """Element ids of each section's own (two sections may have fields of the same name)."""
    return {"auto_id": f"{declaration.slug}-%s"}


@dataclass
class Section:
    """One credential's section of the page, as the template draws it."""

    declaration: CredentialSettings
    config: Any
    form: CredentialForm
    result: Any = None  # the last test's result, when this request tested
    tested_ref: str | None = None  # refers to the secret just tested (common/tested_secrets)
    available: bool = True  # the organization's plan offers this credential

    @classmethod
    def stored(cls, declaration: CredentialSettings, organization) -> "Section":
        config = declaration.config_for(organization)
        form = declaration.form(
            initial=declaration.form.initial_for(config), stored=config, **form_ids(declaration)
        )
        return cls(declaration, config, form)

    @property
    def template(self) -> str:
        return f"settings/sections/{self.declaration.slug}.html"

    @property
    def submit_url(self) -> str:
        return reverse(f"settings-{self.declaration.slug}")

    @property
    def remove_url(self) -> str:
        return reverse(f"settings-{self.declaration.slug}-remove")

    @property
    def health(self) -> dict | None:
        """{status, last_checked_at, error_code, message} of the stored credential."""
        if self.config is None or self.declaration.health_advice is None:
            return None
        return health_summary(self.config, self.declaration.health_advice)

    @property
    def test_passed(self) -> bool:
        return self.result is not None and self.declaration.test_passed(self.result)


def _declaration(slug: str) -> CredentialSettings:
    return next(section for section in SECTIONS if section.slug == slug)


def render_settings(request, *, changed: Section | None = None, status: int = 200):
    """The page with every section; `changed` is the one this request submitted."""
    organization = request.membership.organization
    sections = [
        changed
        if changed is not None and changed.declaration is declaration
        else Section.stored(declaration, organization)
        for declaration in SECTIONS
    ]
    for section in sections:
        section.available = section.declaration.available(organization)
    requested = request.session.get(CHECK_REQUESTED_KEY)
    since = datetime.fromisoformat(requested) if isinstance(requested, str) else None
    context = {
        "membership": request.membership,
        "sections": sections,
        # "Check now" was pressed and a result is still out: the page refreshes itself.
        "checking": health.checks_pending(organization, since),
    }
    return render(request, "settings/index.html", context, status=status)


@membership_required(manager=True)
@require_POST
def health_check(request):
    """ "Check now": queues both checks; the page shows the results when they come."""
    requested = timezone.now()  # before queuing: a check may finish before the next line
    try:
        queued = health.health_check_request(membership=request.membership, ip=client_ip(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("settings")
    if queued:
        request.session[CHECK_REQUESTED_KEY] = requested.isoformat()
        messages.success(request, "The checks are running; the results appear below.")
    else:
        messages.info(request, "There is nothing to check yet: connect a service first.")
    return redirect("settings")


@membership_required
def settings_page(request):
    return render_settings(request)


def _take_tested_secret(request, declaration: CredentialSettings, data: dict) -> bool:
    """Puts the secret tested a moment ago into `data` when its field came back empty and
    the page carries a reference to it. False when the reference is no longer good."""
    ref = request.POST.get("tested_ref")
    if data[declaration.primary_secret] or not ref:
        return True
    tested = tested_secrets.take(request, scope=declaration.slug, ref=ref)
    if tested is None or any(
        tested.get(name, "") != (data[name] or "") for name in declaration.bound_fields
    ):
        return False
    for name in declaration.secret_fields:
        data[name] = data[name] or tested.get(name) or None
    return True


def _keep_tested_secret(request, section: Section, data: dict) -> None:
    """After a passed test of a typed secret: the page gets a reference, never the secret."""
    declaration = section.declaration
    values = {name: data[name] or "" for name in declaration.bound_fields}
    values.update({name: data[name] for name in declaration.secret_fields if data[name]})
    section.tested_ref = tested_secrets.stash(request, scope=declaration.slug, values=values)
    section.form.show_tested(mask=mask_secret(data[declaration.primary_secret]))


@membership_required(manager=True)
@require_POST
@sensitive_post_parameters(*SECRET_FIELDS)
def credential_submit(request, *, slug: str):
    """One form, two buttons: Test (saves nothing) and Save (tests, then saves).

    After a passed test of a typed secret, the field comes back empty (a secret is never sent
    to the browser): the page carries a reference to it, so Save saves what was tested."""
    declaration = _declaration(slug)
    config = declaration.config_for(request.membership.organization)
    form = declaration.form(request.POST, stored=config, **form_ids(declaration))
    section = Section(declaration, config, form)
    if not form.is_valid():
        return render_settings(request, changed=section, status=400)
    wait = credential_test_wait(
        scope=declaration.throttle_scope, membership=request.membership, ip=client_ip(request)
    )
    if wait:
        form.add_error(None, too_many_message(wait))
        return render_settings(request, changed=section, status=429)
    data = form.cleaned_data
    if not _take_tested_secret(request, declaration, data):
        form.add_error(declaration.primary_secret, declaration.tested_secret_expired)
        return render_settings(request, changed=section, status=400)
    try:
        if request.POST.get("action") == "save":
            declaration.save(membership=request.membership, ip=client_ip(request), **data)
            messages.success(request, f"{declaration.saved_message}.")
            return redirect("settings")
        section.result = declaration.test(membership=request.membership, **data)
    except ServiceError as exc:
        apply_service_error(form, exc)
        # Too many calls to the provider in flight (busy) is a 429 like a rate limit.
        return render_settings(request, changed=section, status=429 if exc.status == 429 else 400)
    form.show_result(section.result)
    if section.test_passed and data[declaration.primary_secret]:
        _keep_tested_secret(request, section, data)
    return render_settings(request, changed=section)


@membership_required(manager=True)
def credential_remove(request, *, slug: str):
    """Confirmation page (works without JavaScript); POST removes."""
    declaration = _declaration(slug)
    if request.method == "POST":
        if declaration.remove(membership=request.membership, ip=client_ip(request)):
            messages.success(request, f"The {declaration.noun} was removed.")
        return redirect("settings")
    config = declaration.config_for(request.membership.organization)
    if config is None:
        return redirect("settings")
    context = {"declaration": declaration, "warning": declaration.remove_warning(config)}
    return render(request, "settings/remove.html", context)
