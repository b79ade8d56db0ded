"""The pure deadline arithmetic, tested with tables of real Chinese calendar cases."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaiban.workdays.arithmetic import WorkCalendar

from .conftest import package_days

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.mark.parametrize(
    ("accepted", "n", "due"),
    [
        # domain.md's example: Mid-Autumn and National Day are holidays, Saturday 10-10 counts.
        (at(2026, 9, 24), 10, at(2026, 10, 15, 17, 30)),
        # Spring Festival 2026: Saturday 02-14 is a make-up working day, 02-15…23 are off.
        (at(2026, 2, 13), 1, at(2026, 2, 14, 17, 30)),
        (at(2026, 2, 13), 2, at(2026, 2, 24, 17, 30)),
        # Accepted on Friday at 17:55: the start day is never counted.
        (at(2026, 11, 20, 17, 55), 1, at(2026, 11, 23, 17, 30)),
        # Accepted on a rest day: the first working day after it is day 1.
        (at(2026, 11, 22), 1, at(2026, 11, 23, 17, 30)),
        # The Wednesday before National Day: 7 working days jump the holiday week.
        (at(2026, 9, 30), 7, at(2026, 10, 15, 17, 30)),
    ],
)
def test_add_working_days_skips_holidays_and_counts_makeup_days(cal, accepted, n, due):
    result = cal.add_working_days(accepted, n)
    assert result.at == due
    assert result.provisional is False


def test_working_days_into_an_unloaded_year_are_provisional_not_an_error(cal):
    result = cal.add_working_days(at(2026, 12, 24), 10)
    # 12-25, 28…31 (5), then Monday–Friday in 2027 as an assumption: 01-01, 04…07.
    assert result.at == at(2027, 1, 7, 17, 30)
    assert result.provisional is True


def test_a_closure_entered_for_an_unloaded_year_still_counts():
    days = package_days([2026])
    days[date(2027, 1, 1)] = False  # New Year's Day entered before the 2027 schedule is loaded
    cal = WorkCalendar(days=days, configured_years=[2026])
    result = cal.add_working_days(at(2026, 12, 31), 1)
    assert result.at == at(2027, 1, 4, 17, 30)
    assert result.provisional is True


@pytest.mark.parametrize(
    ("accepted", "n", "due"),
    [
        # Last day 10-01 is a holiday: rolls to the first working day after the break.
        (at(2026, 9, 21), 10, at(2026, 10, 8, 17, 30)),
        # Last day is a Sunday: rolls to Monday.
        (at(2026, 11, 1), 14, at(2026, 11, 16, 17, 30)),
        # Last day a working day: stays.
        (at(2026, 11, 2), 15, at(2026, 11, 17, 17, 30)),
        # Last day a make-up Saturday is a working day: stays.
        (at(2026, 9, 30), 10, at(2026, 10, 10, 17, 30)),
    ],
)
def test_add_calendar_days_rolls_a_rest_day_to_the_next_working_day(cal, accepted, n, due):
    assert cal.add_calendar_days(accepted, n).at == due


@pytest.mark.parametrize(
    ("received", "minutes", "due"),
    [
        (at(2026, 11, 24, 10, 0), 30, at(2026, 11, 24, 10, 30)),
        # Across lunch: 11:45 + 30 → 15 before lunch, 15 after 13:30.
        (at(2026, 11, 24, 11, 45), 30, at(2026, 11, 24, 13, 45)),
        # Online at lunch time: received at 13:30.
        (at(2026, 11, 24, 12, 10), 30, at(2026, 11, 24, 14, 0)),
        # Friday 17:55, after closing: received Monday 09:00.
        (at(2026, 11, 20, 17, 55), 30, at(2026, 11, 23, 9, 30)),
        # 17:15 before a week of holidays: 15 minutes today, 15 after the break.
        (at(2026, 9, 30, 17, 15), 30, at(2026, 10, 8, 9, 15)),
        # Submitted at night before a make-up Saturday: that Saturday is a working day.
        (at(2026, 10, 9, 22, 0), 30, at(2026, 10, 10, 9, 30)),
        # Several days' worth of minutes.
        (at(2026, 11, 23, 9, 0), 3 * 420, at(2026, 11, 25, 17, 30)),
    ],
)
def test_add_office_minutes_counts_only_office_hours(cal, received, minutes, due):
    assert cal.add_office_minutes(received, minutes).at == due


def test_next_office_minute_is_the_moment_itself_inside_office_hours(cal):
    assert cal.next_office_minute(at(2026, 11, 24, 9, 1)) == at(2026, 11, 24, 9, 1)
    assert cal.next_office_minute(at(2026, 11, 24, 8, 0)) == at(2026, 11, 24, 9, 0)


def test_office_minutes_between_counts_working_time_only(cal):
    assert cal.office_minutes_between(at(2026, 11, 24, 9, 0), at(2026, 11, 24, 17, 30)) == 420
    # Friday 17:00 → Monday 09:30: 30 on Friday + 30 on Monday.
    assert cal.office_minutes_between(at(2026, 11, 20, 17, 0), at(2026, 11, 23, 9, 30)) == 60
    # Across the National Day week: 30 before, 30 after.
    assert cal.office_minutes_between(at(2026, 9, 30, 17, 0), at(2026, 10, 8, 9, 30)) == 60
    assert cal.office_minutes_between(at(2026, 11, 24, 10, 0), at(2026, 11, 24, 9, 0)) == 0


def test_working_days_between_excludes_the_start_day(cal):
    assert cal.working_days_between(date(2026, 9, 24), date(2026, 10, 15)) == 10
    assert cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 10, 15), date(2026, 9, 24)) == 0


def test_times_from_another_zone_are_read_as_beijing_time(cal):
    utc = datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Beijing
    assert cal.add_office_minutes(utc, 30).at == at(2026, 11, 24, 9, 30)


def test_naive_datetimes_are_refused(cal):
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2026, 11, 24, 9, 0), 1)  # noqa: DTZ001


def test_office_hours_are_configurable():
    cal = WorkCalendar(
        days=package_days([2026]),
        configured_years=[2026],
        office_periods=[(time(8, 30), time(12, 0)), (time(14, 0), time(18, 0))],
    )
    assert cal.add_working_days(at(2026, 11, 20), 1).at == at(2026, 11, 23, 18, 0)
    assert cal.add_office_minutes(at(2026, 11, 24, 11, 50), 20).at == at(2026, 11, 24, 14, 10)


def naive_add_working_days(cal, start, n):
    """The obvious day-by-day loop the bisecting version must agree with."""
    day, counted = cal.local(start).date(), 0
    while counted < n:
        day += timedelta(days=1)
        counted += cal.is_working_day(day)
    return cal.close_of_business(day)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001
    n=st.integers(min_value=1, max_value=400),
)
def test_add_working_days_agrees_with_a_day_by_day_loop(cal, start, n):
    start = start.replace(tzinfo=SH)
    assert cal.add_working_days(start, n).at == naive_add_working_days(cal, start, n)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),  # noqa: DTZ001
    minutes=st.integers(min_value=0, max_value=5000),
)
def test_office_minutes_added_are_office_minutes_measured(cal, start, minutes):
    start = start.replace(tzinfo=SH)
    due = cal.add_office_minutes(start, minutes).at
    assert cal.office_minutes_between(start, due) == pytest.approx(minutes)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),  # noqa: DTZ001
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)),
    shares=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=3),
)
def test_office_marks_are_the_office_minutes_added_from_the_first_office_minute(
    cal, start, length, shares
):
    """The warnings' arithmetic (50% and 75% of a clock) finds the first office minute once;
    each mark is still exactly `add_office_minutes` of its share of the office time, from UTC
    moments as from local ones (they come from the database in UTC)."""
    start = start.replace(tzinfo=SH).astimezone(ZoneInfo("UTC"))
    end = start + length
    total = cal.office_minutes_between(start, end)
    first = cal.next_office_minute(start)
    expected = [cal.add_office_minutes(first, round(total * share)).at for share in shares]
    assert cal.office_marks(start, end, shares) == expected


@given(a=st.times(), b=st.times())
def test_minutes_within_a_day_are_the_same_float_as_timedeltas_give(a, b):
    """Measured from the times' microseconds, not from two datetimes, yet bit for bit the same:
    stored warnings must not move by a microsecond when the code changes."""
    from kuaiban.workdays.arithmetic import _minutes

    expected = (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 60
    assert _minutes(a, b) == expected
