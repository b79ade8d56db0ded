from django.contrib import admin, messages
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay, OfficeHoursPeriod
from .selectors import calendar_changed


def _after_calendar_edit():
    calendar_changed()
    # Open clocks are recomputed by a worker (the kernel does not import the speed-up app).
    import_string("speedup.tasks.enqueue_recompute")()


class CalendarEditMixin:
    """Any edit of the calendar invalidates the cached calendar and recomputes open clocks."""

    actions = ["recompute_open_deadlines"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(_after_calendar_edit)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(_after_calendar_edit)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        transaction.on_commit(_after_calendar_edit)

    @admin.action(description=_("Recompute the due times of open cases"))
    def recompute_open_deadlines(self, request, queryset):
        queued = import_string("speedup.tasks.enqueue_recompute")()
        if queued:
            self.message_user(request, _("Open due times are being recomputed."))
        else:
            self.message_user(
                request,
                _("The task queue is unreachable; run manage.py recompute_deadlines."),
                messages.WARNING,
            )


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
