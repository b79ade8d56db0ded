"""The working-day calendar and office hours, as editable data.

The arithmetic lives in `kuaiban.workdays.arithmetic`, which knows nothing of the ORM; the
`calendar_from_db` selector turns these rows into its input.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """One day of a loaded year. A year counts as configured when every one of its days is here."""

    class Kind(models.TextChoices):
        WORKDAY = "workday", _("Working day")
        WEEKEND = "weekend", _("Weekend")
        HOLIDAY = "holiday", _("Statutory holiday")
        MAKEUP = "makeup", _("Make-up working day (调休)")
        CLOSURE = "closure", _("Local closure")

    WORKING_KINDS = (Kind.WORKDAY, Kind.MAKEUP)

    class Source(models.TextChoices):
        CHINESECALENDAR = "chinesecalendar", _("State Council schedule (chinesecalendar)")
        ADMIN = "admin", _("Entered by an administrator")
        IMPORT = "import", _("Imported")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name or reason"), max_length=100, blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.ADMIN
    )

    class Meta:
        verbose_name = _("day of the calendar")
        verbose_name_plural = _("days of the calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()}"

    @property
    def is_working(self) -> bool:
        return self.kind in self.WORKING_KINDS


class OfficeHoursPeriod(models.Model):
    """A period of the office day; the default day is 09:00–12:00 and 13:30–17:30."""

    start = models.TimeField(_("opens"))
    end = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("office hours period")
        verbose_name_plural = _("office hours")
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        if self.start and self.end and self.start >= self.end:
            raise ValidationError(_("A period must close after it opens."))
        overlapping = OfficeHoursPeriod.objects.filter(start__lt=self.end, end__gt=self.start)
        if self.pk:
            overlapping = overlapping.exclude(pk=self.pk)
        if self.start and self.end and overlapping.exists():
            raise ValidationError(_("Office hours periods may not overlap."))
