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


@dataclass(frozen=True)
class MonthDay:
    """A cell of a month grid: a day of the month (with its row when the table has it), or a
    blank before the first or after the last day (`day` None)."""

    day: date | None
    row: CalendarDay | None = None

    @property
    def kind(self) -> str:
        """The day's kind, or "unknown" for a day the table does not have."""
        return self.row.kind if self.row is not None else "unknown"


@dataclass(frozen=True)
class MonthGrid:
    first: date
    weeks: list[list[MonthDay]]


@dataclass(frozen=True)
class YearCalendar:
    year: int
    months: list[MonthGrid]
    known_days: int
    days_in_year: int
    counts: dict[str, int]

    @property
    def configured(self) -> bool:
        """Every day is in the table: the year counts as configured (as `configured_years`)."""
        return self.known_days == self.days_in_year


def month_grids(year: int, rows: dict[date, CalendarDay]) -> list[MonthGrid]:
    """Twelve month grids, weeks from Monday, from the year's rows (pure)."""
    months = []
    weeks_of = pycalendar.Calendar(firstweekday=0).monthdatescalendar
    for month in range(1, 13):
        weeks = [
            [MonthDay(day, rows.get(day)) if day.month == month else MonthDay(None) for day in week]
            for week in weeks_of(year, month)
        ]
        months.append(MonthGrid(date(year, month, 1), weeks))
    return months


def year_calendar(year: int) -> YearCalendar:
    """The year as month grids, with what the table knows of each day (one query)."""
    rows = {row.date: row for row in CalendarDay.objects.filter(date__year=year)}
    counts = {kind: 0 for kind in CalendarDay.Kind.values}
    for row in rows.values():
        counts[row.kind] += 1
    return YearCalendar(
        year=year,
        months=month_grids(year, rows),
        known_days=len(rows),
        days_in_year=366 if pycalendar.isleap(year) else 365,
        counts=counts,
    )
