from django.contrib import admin
from django.db import transaction

from .models import CalendarDay, OfficeHoursPeriod
from .selectors import calendar_changed


class CalendarEditMixin:
    """Any edit of the calendar invalidates the cached working calendar after commit."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(calendar_changed)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(calendar_changed)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        transaction.on_commit(calendar_changed)


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarEditMixin, admin.ModelAdmin):
    list_display = ["date", "kind", "name", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["name"]
    date_hierarchy = "date"
    readonly_fields = ["source"]

    def save_model(self, request, obj, form, change):
        obj.source = CalendarDay.Source.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(OfficeHoursPeriod)
class OfficeHoursPeriodAdmin(CalendarEditMixin, admin.ModelAdmin):
    list_display = ["start", "end"]
