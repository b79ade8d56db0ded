"""Changes to the calendar. Every change invalidates the cached `WorkCalendar`."""

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar
from django.db import transaction

from .models import CalendarDay
from .selectors import calendar_changed


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
def calendar_seed_years(*, years: Iterable[int] | None = None) -> int:
    """Load whole years from `chinesecalendar`. Days already in the table (an administrator's
    closure, say) are kept as they are. Returns the number of days added."""
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
        transaction.on_commit(calendar_changed)
    return len(rows)
