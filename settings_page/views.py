"""The Settings page: the AI provider section and the WhatsApp section, composed from both
integrations. Thin: services do the work."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from aiconfig import services as ai_services
from aiconfig.forms import AIConfigForm
from aiconfig.selectors import ai_config_for
from common import tested_secrets
from common.encryption import mask_secret
from common.errors import ServiceError
from common.throttles import credential_test_wait, too_many_message
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from whatsapp import services as whatsapp_services
from whatsapp.api import webhook_url
from whatsapp.forms import WhatsAppConfigForm
from whatsapp.selectors import whatsapp_config_for


def _initial(config) -> dict:
    if config is None:
        return {"provider": "gemini"}
    return {"provider": config.provider, "model": config.model, "base_url": config.base_url}


def render_settings(
    request,
    *,
    ai_form=None,
    ai_result=None,
    ai_tested_ref=None,
    whatsapp_form=None,
    whatsapp_result=None,
    whatsapp_tested_ref=None,
    status=200,
):
    """The settings page: the AI section and the WhatsApp section, each with its own form."""
    membership = request.membership
    config = ai_config_for(membership.organization)
    whatsapp_config = whatsapp_config_for(membership.organization)
    if whatsapp_form is None:
        initial = (
            {
                "phone_number_id": whatsapp_config.phone_number_id,
                "business_account_id": whatsapp_config.business_account_id,
            }
            if whatsapp_config
            else {}
        )
        whatsapp_form = WhatsAppConfigForm(initial=initial, stored=whatsapp_config)
    if ai_form is None:
        ai_form = AIConfigForm(initial=_initial(config), stored=config)
    models = (ai_result.models if ai_result and ai_result.models else None) or (
        config.available_models if config else []
    )
    context = {
        "membership": membership,
        "ai_config": config,
        "ai_form": ai_form,
        "ai_result": ai_result,
        "ai_tested_ref": ai_tested_ref,
        "ai_models": models,
        "key_unreadable_message": ai_services.KEY_UNREADABLE_MESSAGE,
        "whatsapp_config": whatsapp_config,
        "whatsapp_form": whatsapp_form,
        "whatsapp_result": whatsapp_result,
        "whatsapp_tested_ref": whatsapp_tested_ref,
        "whatsapp_webhook_url": webhook_url(whatsapp_config) if whatsapp_config else None,
    }
    return render(request, "settings/index.html", context, status=status)


@membership_required
def settings_page(request):
    return render_settings(request)


TESTED_KEY_EXPIRED = "The tested key is no longer at hand: paste it again and press Save."


@membership_required(manager=True)
@require_POST
@sensitive_post_parameters("api_key")
def ai_config_submit(request):
    """One form, two buttons: "Test API key" (saves nothing) and "Save" (tests, then saves).

    After a successful test of a typed key, the key field comes back empty (it is never sent
    to the browser): the page carries a reference to the tested key, so Save saves it."""
    config = ai_config_for(request.membership.organization)
    form = AIConfigForm(request.POST, stored=config)
    if not form.is_valid():
        return render_settings(request, ai_form=form, status=400)
    wait = credential_test_wait(
        scope="ai_key_test", membership=request.membership, ip=client_ip(request)
    )
    if wait:
        form.add_error(None, too_many_message(wait))
        return render_settings(request, ai_form=form, status=429)
    data = form.cleaned_data
    ref = request.POST.get("tested_ref")
    if not data["api_key"] and ref:
        tested = tested_secrets.take(request, scope="ai", ref=ref)
        if tested is None or tested["provider"] != data["provider"]:
            form.add_error("api_key", TESTED_KEY_EXPIRED)
            return render_settings(request, ai_form=form, status=400)
        data["api_key"] = tested["api_key"]
    try:
        if request.POST.get("action") == "save":
            ai_services.ai_config_save(membership=request.membership, ip=client_ip(request), **data)
            messages.success(request, "AI configuration saved successfully.")
            return redirect("settings")
        result = ai_services.ai_config_test(membership=request.membership, **data)
    except ServiceError as exc:
        apply_service_error(form, exc)
        return render_settings(request, ai_form=form, status=400)
    tested_ref = None
    if result.success and data["api_key"]:
        tested_ref = tested_secrets.stash(
            request, scope="ai", values={"provider": data["provider"], "api_key": data["api_key"]}
        )
        form.fields["api_key"].widget.attrs["placeholder"] = (
            f"Tested key {mask_secret(data['api_key'])}: leave empty to save it"
        )
    return render_settings(request, ai_form=form, ai_result=result, ai_tested_ref=tested_ref)


@membership_required(manager=True)
def ai_config_remove(request):
    """Confirmation page (works without JavaScript); POST removes."""
    if request.method == "POST":
        if ai_services.ai_config_delete(membership=request.membership, ip=client_ip(request)):
            messages.success(request, "The AI configuration was removed.")
        return redirect("settings")
    config = ai_config_for(request.membership.organization)
    if config is None:
        return redirect("settings")
    return render(request, "settings/ai_remove.html", {"ai_config": config})


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
    wait = credential_test_wait(
        scope="whatsapp_test", membership=request.membership, ip=client_ip(request)
    )
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
            whatsapp_services.whatsapp_config_save(
                membership=request.membership, ip=client_ip(request), **data
            )
            messages.success(request, "WhatsApp configuration saved successfully.")
            return redirect("settings")
        app_secret = data.pop("app_secret")
        info = whatsapp_services.whatsapp_config_test(membership=request.membership, **data)
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
        if whatsapp_services.whatsapp_config_delete(
            membership=request.membership, ip=client_ip(request)
        ):
            messages.success(request, "The WhatsApp configuration was removed.")
        return redirect("settings")
    config = whatsapp_config_for(request.membership.organization)
    if config is None:
        return redirect("settings")
    return render(request, "settings/whatsapp_remove.html", {"whatsapp_config": config})
