from django.contrib import admin

from organizations.request_context import client_ip
from whatsapp import services
from whatsapp.models import InboundMessage, StatusEvent, WhatsAppConfig


@admin.register(WhatsAppConfig)
class WhatsAppConfigAdmin(admin.ModelAdmin):
    """Read-only: credentials change only through the verified settings page or API.
    The token shows masked; the app secret never shows."""

    list_display = [
        "organization",
        "display_phone_number",
        "verified_name",
        "masked_token",
        "last_verified_at",
        "health_status",
    ]
    list_filter = ["health_status"]
    search_fields = [
        "organization__name",
        "organization__slug",
        "phone_number_id",
        "display_phone_number",
    ]
    fields = [
        "organization",
        "phone_number_id",
        "business_account_id",
        "masked_token",
        "app_secret_set",
        "display_phone_number",
        "verified_name",
        "quality_rating",
        "number_status",
        "messaging_limit_tier",
        "app_id",
        "token_expires_at",
        "last_verified_at",
        "health_status",
        "last_checked_at",
        "last_error_code",
        "consecutive_auth_failures",
        "next_check_at",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Access token")
    def masked_token(self, obj):
        return obj.access_token_masked or ("unreadable" if obj.token_unreadable else "—")

    @admin.display(description="App secret", boolean=True)
    def app_secret_set(self, obj):
        return obj.has_app_secret

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.whatsapp_config_remove(
            organization=obj.organization, actor=request.user, ip=client_ip(request)
        )

    def delete_queryset(self, request, queryset):
        for config in queryset.select_related("organization"):
            self.delete_model(request, config)


@admin.register(StatusEvent)
class StatusEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "organization", "message_id", "status", "error_code"]
    list_filter = ["status"]
    search_fields = ["message_id", "organization__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "organization", "from_number", "kind"]
    search_fields = ["from_number", "organization__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
