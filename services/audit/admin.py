from django.contrib import admin

from services.audit.models import AuditCheck, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, and the database refuses changes anyway."""

    list_display = ["seq", "at", "action", "actor", "bureau", "object_type", "object_id"]
    list_filter = ["action", "bureau"]
    search_fields = ["actor", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditCheck)
class AuditCheckAdmin(admin.ModelAdmin):
    list_display = ["checked_at", "ok", "entries", "first_broken_seq", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
