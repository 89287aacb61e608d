from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record that is history (audit trail, sent messages): staff may look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
