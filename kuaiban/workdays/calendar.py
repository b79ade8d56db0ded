"""The working calendar of this process: the calendar tables turned into the pure `WorkCalendar`,
built once and kept until an edit anywhere bumps the shared version number in the cache."""

import logging
import time

from django.core.cache import cache
from django.utils import timezone

from .arithmetic import DEFAULT_OFFICE_PERIODS, WorkCalendar
from .models import CalendarDay, OfficeHoursPeriod
from .selectors import COVERAGE_CACHE_KEY, configured_years

logger = logging.getLogger(__name__)
_CACHE_VERSION_KEY = "workdays:calendar-version"
_local_calendar: dict[object, WorkCalendar] = {}


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


def calendar_cache_invalidate() -> None:
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
