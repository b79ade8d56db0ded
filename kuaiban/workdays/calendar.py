"""The working calendar of this process: the calendar tables turned into the pure `WorkCalendar`,
built once and kept until an edit anywhere changes the shared version token in the cache
(`kuaiban.process_tables`)."""

from django.utils import timezone

from kuaiban import optional_cache
from kuaiban.process_tables import ProcessTables

from .arithmetic import DEFAULT_OFFICE_PERIODS, WorkCalendar
from .models import CalendarDay, OfficeHoursPeriod
from .selectors import COVERAGE_CACHE_KEY, configured_years

calendar_tables = ProcessTables("workdays:calendar")


def calendar_cache_invalidate() -> None:
    """Invalidate every process's cached calendar (called after edits are committed). Tried
    even during a known outage; if the cache is down, the other processes see the edit within a
    minute (they rebuild that often while it is down)."""
    calendar_tables.invalidate()
    optional_cache.delete(COVERAGE_CACHE_KEY)


def calendar_from_db() -> WorkCalendar:
    """The current working calendar, rebuilt only when an edit bumped the shared version (or,
    with the cache down, at most once a minute)."""
    return calendar_tables.get("calendar", _calendar_built)


def _calendar_built() -> WorkCalendar:
    days = {
        row_date: kind in CalendarDay.WORKING_KINDS
        for row_date, kind in CalendarDay.objects.values_list("date", "kind").iterator()
    }
    periods = [(p.start, p.end) for p in OfficeHoursPeriod.objects.all()]
    return WorkCalendar(
        days=days,
        configured_years=configured_years(),
        office_periods=periods or DEFAULT_OFFICE_PERIODS,
        tz=timezone.get_default_timezone(),
    )
