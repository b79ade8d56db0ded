"""Reads of the calendar tables, turned into the pure `WorkCalendar`."""

import calendar as pycalendar
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils import timezone

from .arithmetic import DEFAULT_OFFICE_PERIODS, WorkCalendar
from .models import CalendarDay, OfficeHoursPeriod

logger = logging.getLogger(__name__)
_CACHE_VERSION_KEY = "workdays:calendar-version"
COVERAGE_CACHE_KEY = "workdays:coverage"
_local_calendar: dict[object, WorkCalendar] = {}


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


def _calendar_version():
    """The shared calendar version, or None when the cache (Redis) cannot be reached."""
    try:
        version = cache.get(_CACHE_VERSION_KEY)
        if version is None:
            version = 1
            cache.add(_CACHE_VERSION_KEY, version, timeout=None)
        return version
    except Exception:  # Redis down: deadlines must still compute, from the database
        logger.warning("cache unreachable; the working calendar is rebuilt every minute")
        return None


def calendar_changed() -> None:
    """Invalidate every process's cached calendar (called after edits are committed)."""
    _local_calendar.clear()
    try:
        try:
            cache.incr(_CACHE_VERSION_KEY)
        except ValueError:
            cache.set(_CACHE_VERSION_KEY, 2, timeout=None)
        cache.delete(COVERAGE_CACHE_KEY)
    except Exception:
        logger.warning("cache unreachable; other processes see the calendar edit within a minute")


def calendar_from_db() -> WorkCalendar:
    """The current working calendar, rebuilt only when an edit bumped the shared version (or,
    with the cache down, at most once a minute)."""
    version = _calendar_version()
    key = version if version is not None else f"offline-{int(time.monotonic() // 60)}"
    cached = _local_calendar.get(key)
    if cached is not None:
        return cached
    days = {
        row_date: kind in CalendarDay.WORKING_KINDS
        for row_date, kind in CalendarDay.objects.values_list("date", "kind").iterator()
    }
    periods = [(p.start, p.end) for p in OfficeHoursPeriod.objects.all()]
    built = WorkCalendar(
        days=days,
        configured_years=configured_years(),
        office_periods=periods or DEFAULT_OFFICE_PERIODS,
        tz=timezone.get_default_timezone(),
    )
    _local_calendar.clear()
    _local_calendar[key] = built
    return built


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
