from django.contrib import admin

from .models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only (see `models.AccessLog`)."""

    list_display = ("at", "user", "kind", "reference", "object_id", "ip", "request_id")
    list_filter = ("kind",)
    search_fields = ("reference", "object_id", "request_id", "user__username")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
