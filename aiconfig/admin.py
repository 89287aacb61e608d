from django import forms
from django.contrib import admin, messages

from aiconfig import services
from aiconfig.models import AIConfig
from aiconfig.providers import (
    base_url_problem,
    default_model_for,
    provider_choices,
    provider_label,
)
from aiconfig.serializers import API_KEY_MAX_LENGTH
from common.form_fields import SecretFormField
from common.validators import validate_base_url, validate_model_name
from organizations.request_context import client_ip


class AIConfigAdminForm(forms.ModelForm):
    """Shows only the mask; typing a new key replaces the stored one. Like the page, it
    tests the credentials with the provider in clean(), so nothing invalid is saved."""

    provider = forms.ChoiceField(choices=provider_choices)
    new_api_key = SecretFormField(
        label="New API key",
        max_length=API_KEY_MAX_LENGTH,
        secret_label="The API key",
        help_text="Leave empty to keep the stored key.",
    )

    class Meta:
        model = AIConfig
        fields = ["organization", "slot", "provider", "model", "base_url"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].required = False
        if self.instance.pk:
            mask = self.instance.api_key_masked or "unreadable — enter it again"
            self.fields["new_api_key"].help_text = f"Stored key: {mask}. Leave empty to keep it."

    def clean_model(self):
        value = (self.cleaned_data.get("model") or "").strip()
        if value:
            validate_model_name(value)
        return value

    def clean_base_url(self):
        value = (self.cleaned_data.get("base_url") or "").strip()
        if value:
            validate_base_url(value)
        return value

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        provider = data["provider"]
        key = data.get("new_api_key")
        problem = base_url_problem(provider, data.get("base_url"))
        if problem:
            self.add_error("base_url", problem)
            return data
        if not key:
            try:
                key = services.stored_key_for(
                    self.instance if self.instance.pk else None,
                    provider=provider,
                    base_url=data.get("base_url"),
                )
            except services.ServiceError as exc:
                self.add_error("new_api_key", exc.message)
                return data
        data["model"] = data.get("model") or default_model_for(provider)
        self.test_result = services.key_test_metered(
            organization=self.instance.organization if self.instance.pk else data["organization"],
            credential=self.instance.slot if self.instance.pk else data["slot"],
            provider=provider,
            api_key=key,
            model=data["model"],
            base_url=data.get("base_url") or None,
        )
        if not self.test_result.success:
            raise forms.ValidationError(self.test_result.error)
        self.tested_key = key
        return data


@admin.register(AIConfig)
class AIConfigAdmin(admin.ModelAdmin):
    form = AIConfigAdminForm
    list_display = [
        "organization",
        "slot",
        "provider_name",
        "model",
        "masked_key",
        "last_test_ok",
        "last_tested_at",
        "health_status",
    ]
    list_filter = ["slot", "provider", "last_test_ok", "health_status"]
    search_fields = ["organization__name", "organization__slug", "model"]
    readonly_fields = [
        "masked_key",
        "last_tested_at",
        "last_test_ok",
        "last_error_code",
        "updated_by",
        "updated_at",
        "health_status",
        "last_checked_at",
        "consecutive_auth_failures",
        "next_check_at",
    ]
    fields = [
        "organization",
        "slot",
        "provider",
        "model",
        "base_url",
        "masked_key",
        "new_api_key",
    ] + (readonly_fields[1:])
    actions = ["test_selected"]

    def get_readonly_fields(self, request, obj=None):
        # A stored key stays with its organization and slot: it cannot be moved.
        return [*self.readonly_fields, "organization", "slot"] if obj else self.readonly_fields

    @admin.display(description="Provider", ordering="provider")
    def provider_name(self, obj):
        return provider_label(obj.provider)

    @admin.display(description="API key")
    def masked_key(self, obj):
        return obj.api_key_masked or ("unreadable" if obj.key_unreadable else "—")

    def save_model(self, request, obj, form, change):
        stored = services.ai_config_store(
            organization=obj.organization,
            actor=request.user,
            provider=form.cleaned_data["provider"],
            api_key=form.tested_key,
            model=form.cleaned_data["model"],
            base_url=form.cleaned_data.get("base_url") or "",
            models=form.test_result.models,
            key_changed=bool(form.cleaned_data.get("new_api_key")),
            ip=client_ip(request),
            slot=obj.slot,
        )
        obj.pk = stored.pk

    def delete_model(self, request, obj):
        services.ai_config_remove(
            organization=obj.organization, actor=request.user, ip=client_ip(request), slot=obj.slot
        )

    def delete_queryset(self, request, queryset):
        for config in queryset.select_related("organization"):
            self.delete_model(request, config)

    @admin.action(description="Test selected configurations")
    def test_selected(self, request, queryset):
        passed = failed = 0
        for config in queryset.select_related("organization"):
            result = services.ai_config_test_stored(config=config, user=request.user)
            if result is not None and result.success:
                passed += 1
            else:
                failed += 1
                code = result.error_code if result is not None else "key_unreadable"
                self.message_user(request, f"{config.organization}: {code}", messages.WARNING)
        self.message_user(request, f"{passed} passed, {failed} failed.", messages.INFO)
