"""Changes to the calendar, and the one place every change is announced.

Whatever edits the calendar (the admin, seeding a year, an import) ends in `calendar_edited`
after commit: every process's cached `WorkCalendar` is invalidated and the subscribers hear of
it. The deadline engine (`speedup`) subscribes in its `AppConfig.ready` and recomputes the open
clocks; the kernel itself knows nothing of the apps above it.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from django.db import transaction

from .calendar import calendar_cache_invalidate
from .models import CalendarDay

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalendarChange:
    """What changed: some days (`days`), whole years newly loaded (`years_loaded`), or, with
    neither, anything (the office hours, an administrator asking for a recompute).
    `background`: the follow-up work goes to a worker (an administrator's request must not wait
    for it) instead of running now (a command)."""

    days: frozenset[date] = frozenset()
    years_loaded: frozenset[int] = frozenset()
    background: bool = True

    @property
    def only_new_years(self) -> bool:
        """Only whole new years were loaded: only provisional clocks can move."""
        return bool(self.years_loaded) and not self.days


CalendarSubscriber = Callable[[CalendarChange], bool]
_subscribers: list[CalendarSubscriber] = []


def on_calendar_change(subscriber: CalendarSubscriber) -> CalendarSubscriber:
    """Register `subscriber(change) -> handled` to hear of every calendar change (once)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def calendar_edited(change: CalendarChange) -> bool:
    """Announce a committed change of the calendar. Returns False when a subscriber could not
    hand its work on (say, the task queue is unreachable), so the caller can say so."""
    calendar_cache_invalidate()
    handled = True
    for subscriber in _subscribers:
        try:
            handled = subscriber(change) is not False and handled
        except Exception:  # one failing subscriber must not undo the edit or stop the others
            logger.exception("calendar change subscriber %r failed", subscriber)
            handled = False
    return handled


def calendar_edited_on_commit(change: CalendarChange) -> None:
    """`calendar_edited` once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: calendar_edited(change))


def _package_day(day: date) -> tuple[str, str]:
    """(kind, name) of a day according to the State Council schedule in `chinesecalendar`."""
    is_holiday, holiday_name = chinese_calendar.get_holiday_detail(day)
    weekend = day.weekday() >= 5
    if not is_holiday:
        if weekend:
            return CalendarDay.Kind.MAKEUP, holiday_name or ""
        return CalendarDay.Kind.WORKDAY, ""
    if holiday_name:
        return CalendarDay.Kind.HOLIDAY, holiday_name
    return CalendarDay.Kind.WEEKEND, ""


def package_years() -> range:
    """The years the installed `chinesecalendar` covers (it raises outside them)."""
    known = chinese_calendar.constants.holidays
    return range(min(known).year, max(known).year + 1)


@transaction.atomic
def calendar_seed_years(*, years: Iterable[int] | None = None, background: bool = False) -> int:
    """Load whole years from `chinesecalendar`. Days already in the table (an administrator's
    closure, say) are kept as they are. Returns the number of days added; the change is
    announced after commit (provisional clocks are recomputed now, or by a worker)."""
    years = list(years if years is not None else package_years())
    existing = set(CalendarDay.objects.filter(date__year__in=years).values_list("date", flat=True))
    rows = []
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            if day not in existing:
                kind, name = _package_day(day)
                rows.append(
                    CalendarDay(
                        date=day, kind=kind, name=name, source=CalendarDay.Source.CHINESECALENDAR
                    )
                )
            day += timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=2000)
    if rows:
        added_years = frozenset(row.date.year for row in rows)
        calendar_edited_on_commit(CalendarChange(years_loaded=added_years, background=background))
    return len(rows)
