"""The WhatsApp section of the settings page. Thin: services do the work."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aiconfig.views import render_settings
from organizations.errors import ServiceError
from organizations.forms import apply_service_error
from organizations.page_context import membership_required
from organizations.request_context import client_ip
from whatsapp import services
from whatsapp.forms import WhatsAppConfigForm
from whatsapp.selectors import whatsapp_config_for


@membership_required(manager=True)
@require_POST
def whatsapp_config_submit(request):
    """One form, two buttons: "Test connection" (saves nothing) and "Save" (verifies, saves)."""
    config = whatsapp_config_for(request.membership.organization)
    form = WhatsAppConfigForm(request.POST, stored=config)
    if not form.is_valid():
        return render_settings(request, whatsapp_form=form, status=400)
    data = form.cleaned_data
    try:
        if request.POST.get("action") == "save":
            services.whatsapp_config_save(
                membership=request.membership, ip=client_ip(request), **data
            )
            messages.success(request, "WhatsApp configuration saved successfully.")
            return redirect("settings")
        data.pop("app_secret")
        info = services.whatsapp_config_test(membership=request.membership, **data)
    except ServiceError as exc:
        apply_service_error(form, exc)
        return render_settings(request, whatsapp_form=form, status=400)
    return render_settings(request, whatsapp_form=form, whatsapp_result=info)


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
