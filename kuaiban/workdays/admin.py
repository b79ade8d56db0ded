from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay, OfficeHoursPeriod
from .services import CalendarChange, calendar_edited, calendar_edited_on_commit


class CalendarEditAdmin(admin.ModelAdmin):
    """Every edit of the calendar goes through `calendar_edited` once committed: the cached
    calendar is invalidated and open clocks are recomputed by a worker."""

    actions = ("recompute_open_deadlines",)

    def _changed(self, days=()):
        calendar_edited_on_commit(CalendarChange(days=frozenset(days)))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        moved_from = form.initial.get("date") if change else None  # a day moved: both change
        self._changed([*self._days_of([obj]), *([moved_from] if moved_from else [])])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._changed(self._days_of([obj]))

    def delete_queryset(self, request, queryset):
        days = self._days_of(queryset)
        super().delete_queryset(request, queryset)
        self._changed(days)

    @staticmethod
    def _days_of(objects) -> list:
        return [obj.date for obj in objects if isinstance(obj, CalendarDay)]

    @admin.action(description=_("Recompute the due times of open cases"))
    def recompute_open_deadlines(self, request, queryset):
        if calendar_edited(CalendarChange()):
            self.message_user(request, _("Open due times are being recomputed."))
        else:
            self.message_user(
                request,
                _(
                    "The task queue is unreachable just now: the open due times will be "
                    "recomputed by the next deadline sweep once it is back."
                ),
                messages.WARNING,
            )


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarEditAdmin):
    list_display = ["date", "kind", "name", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["name"]
    date_hierarchy = "date"
    readonly_fields = ["source"]

    def save_model(self, request, obj, form, change):
        obj.source = CalendarDay.Source.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(OfficeHoursPeriod)
class OfficeHoursPeriodAdmin(CalendarEditAdmin):
    list_display = ["start", "end"]
