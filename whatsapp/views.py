"""The WhatsApp section of the settings page. Thin: services do the work."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from aiconfig.views import render_settings
from common import tested_secrets
from common.encryption import mask_secret
from common.throttles import credential_test_wait, too_many_message
from organizations.errors import ServiceError
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from whatsapp import services
from whatsapp.forms import WhatsAppConfigForm
from whatsapp.selectors import whatsapp_config_for

TESTED_TOKEN_EXPIRED = "The tested token is no longer at hand: paste it again and press Save."


@membership_required(manager=True)
@require_POST
@sensitive_post_parameters("access_token", "app_secret")
def whatsapp_config_submit(request):
    """One form, two buttons: "Test connection" (saves nothing) and "Save" (verifies, saves).

    After a successful test of a typed token, the page carries a reference to it (the token
    itself is never sent back to the browser), so Save saves what was tested."""
    config = whatsapp_config_for(request.membership.organization)
    form = WhatsAppConfigForm(request.POST, stored=config)
    if not form.is_valid():
        return render_settings(request, whatsapp_form=form, status=400)
    wait = credential_test_wait(scope="whatsapp_test", membership=request.membership)
    if wait:
        form.add_error(None, too_many_message(wait))
        return render_settings(request, whatsapp_form=form, status=429)
    data = form.cleaned_data
    ref = request.POST.get("tested_ref")
    if not data["access_token"] and ref:
        tested = tested_secrets.take(request, scope="whatsapp", ref=ref)
        if tested is None:
            form.add_error("access_token", TESTED_TOKEN_EXPIRED)
            return render_settings(request, whatsapp_form=form, status=400)
        data["access_token"] = tested["access_token"]
        data["app_secret"] = data["app_secret"] or tested.get("app_secret") or None
    try:
        if request.POST.get("action") == "save":
            services.whatsapp_config_save(
                membership=request.membership, ip=client_ip(request), **data
            )
            messages.success(request, "WhatsApp configuration saved successfully.")
            return redirect("settings")
        app_secret = data.pop("app_secret")
        info = services.whatsapp_config_test(membership=request.membership, **data)
    except ServiceError as exc:
        apply_service_error(form, exc)
        return render_settings(request, whatsapp_form=form, status=400)
    tested_ref = None
    if data["access_token"]:
        values = {"access_token": data["access_token"]}
        if app_secret:
            values["app_secret"] = app_secret
        tested_ref = tested_secrets.stash(request, scope="whatsapp", values=values)
        form.fields["access_token"].widget.attrs["placeholder"] = (
            f"Tested token {mask_secret(data['access_token'])}: leave empty to save it"
        )
    return render_settings(
        request, whatsapp_form=form, whatsapp_result=info, whatsapp_tested_ref=tested_ref
    )


@membership_required(manager=True)
def whatsapp_config_remove(request):
    """Confirmation page (works without JavaScript); POST removes."""
    if request.method == "POST":
        if services.whatsapp_config_delete(membership=request.membership, ip=client_ip(request)):
            messages.success(request, "The WhatsApp configuration was removed.")
        return redirect("settings")
    config = whatsapp_config_for(request.membership.organization)
    if config is None:
        return redirect("settings")
    return render(request, "settings/whatsapp_remove.html", {"whatsapp_config": config})
