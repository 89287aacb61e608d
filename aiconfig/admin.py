from django.contrib import admin, messages

from aiconfig import services
from aiconfig.models import AIConfig
from aiconfig.providers import provider_label
from organizations.request_context import client_ip


@admin.register(AIConfig)
class AIConfigAdmin(admin.ModelAdmin):
    """Read-only, like the WhatsApp admin: credentials change only through the organization's
    Settings page or the API, which test them first. The key shows masked."""

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
    fields = [
        "organization",
        "slot",
        "provider_name",
        "model",
        "base_url",
        "masked_key",
        "last_tested_at",
        "last_test_ok",
        "last_error_code",
        "health_status",
        "last_checked_at",
        "consecutive_auth_failures",
        "next_check_at",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["test_selected"]

    @admin.display(description="Provider", ordering="provider")
    def provider_name(self, obj):
        return provider_label(obj.provider)

    @admin.display(description="API key")
    def masked_key(self, obj):
        return obj.api_key_masked or ("unreadable" if obj.key_unreadable else "—")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.ai_config_remove(
            organization=obj.organization, actor=request.user, ip=client_ip(request), slot=obj.slot
        )

    def delete_queryset(self, request, queryset):
        for config in queryset.select_related("organization"):
            self.delete_model(request, config)

    @admin.action(description="Test selected configurations")
    def test_selected(self, request, queryset):
        """Tests the stored keys with their providers (changes nothing but their test status
        and health)."""
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
