from django.contrib import admin

from kuaiban.append_only import AppendOnlyAdmin

from .models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(AppendOnlyAdmin):
    """Read-only: the log is append-only (see `models.AccessLog`)."""

    list_display = ("at", "user", "kind", "reference", "object_id", "ip", "request_id")
    list_filter = ("kind",)
    search_fields = ("reference", "object_id", "request_id", "user__username")
    date_hierarchy = "at"
    list_select_related = ("user",)
