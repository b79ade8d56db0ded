"""Reads of the calendar tables: which years are loaded, and whether the coming days are."""

import calendar as pycalendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils import timezone

from .models import CalendarDay

COVERAGE_CACHE_KEY = "workdays:coverage"


def configured_years() -> list[int]:
    """Years with every day present in the table."""
    rows = (
        CalendarDay.objects.annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(days=Count("id"))
        .order_by("year")
    )
    return [
        row["year"]
        for row in rows
        if row["days"] == (366 if pycalendar.isleap(row["year"]) else 365)
    ]


@dataclass(frozen=True)
class CalendarCoverage:
    """Whether the days from `start` to `end` all lie in configured years."""

    start: date
    end: date
    missing_years: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return not self.missing_years


def calendar_coverage(
    today: date | None = None, horizon_days: int | None = None
) -> CalendarCoverage:
    today = today or timezone.localdate()
    horizon = horizon_days or settings.KUAIBAN_CALENDAR_HORIZON_DAYS
    end = today + timedelta(days=horizon)
    years = set(configured_years())
    missing = tuple(y for y in range(today.year, end.year + 1) if y not in years)
    return CalendarCoverage(today, end, missing)
