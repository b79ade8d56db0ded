"""The working calendar of this process: the calendar tables turned into the pure `WorkCalendar`,
built once and kept until an edit anywhere changes the shared version token in the cache."""

import time
import uuid

from django.utils import timezone

from kuaiban import optional_cache

from .arithmetic import DEFAULT_OFFICE_PERIODS, WorkCalendar
from .models import CalendarDay, OfficeHoursPeriod
from .selectors import COVERAGE_CACHE_KEY, configured_years

_CACHE_VERSION_KEY = "workdays:calendar-version"
_local_calendar: dict[object, WorkCalendar] = {}


def _calendar_version():
    """The shared calendar version (a random token, so a Redis restarted empty can never hand
    back a version a process still holds), or None when the cache cannot be reached."""
    version = optional_cache.get(_CACHE_VERSION_KEY)
    if version is None:
        optional_cache.add(_CACHE_VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = optional_cache.get(_CACHE_VERSION_KEY)
    return version


def calendar_cache_invalidate() -> None:
    """Invalidate every process's cached calendar (called after edits are committed). Tried
    even during a known outage; if the cache is down, the other processes see the edit within a
    minute (they rebuild that often while it is down)."""
    _local_calendar.clear()
    optional_cache.delete(_CACHE_VERSION_KEY, force=True)
    optional_cache.delete(COVERAGE_CACHE_KEY)


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
