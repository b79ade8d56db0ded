from django.contrib import admin

from .models import DataSourceHealth, ReferenceRecord, SharedDataRecord


@admin.register(SharedDataRecord)
class SharedDataRecordAdmin(admin.ModelAdmin):
    """Read-only: the records are what the sources answered (their facts stay encrypted)."""

    list_display = ["application", "material", "kind", "status", "attempts", "fetched_at"]
    list_filter = ["kind", "status"]
    exclude = ["facts"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DataSourceHealth)
class DataSourceHealthAdmin(admin.ModelAdmin):
    list_display = ["kind", "consecutive_failures", "open_until", "last_success_at"]


@admin.register(ReferenceRecord)
class ReferenceRecordAdmin(admin.ModelAdmin):
    list_display = ["kind", "reference"]
    list_filter = ["kind"]
    exclude = ["facts", "subject_hash"]
