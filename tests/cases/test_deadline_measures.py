"""The pure clock maths of kuaiban/cases/deadlines.py that the stored clock and the history
generator share: handling time, a clock moved by a pause, statutory mode."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kuaiban.cases import deadlines
from kuaiban.workdays.arithmetic import WorkCalendar
from kuaiban.workdays.units import LimitUnit

SH = ZoneInfo("Asia/Shanghai")


def at(*args):
    return datetime(*args, tzinfo=SH)


@pytest.fixture(scope="module")
def cal():
    """2026 configured, Monday to Friday (November and December 2026 have no holidays)."""
    day, days = date(2026, 1, 1), {}
    while day.year == 2026:
        days[day] = day.weekday() < 5
        day += timedelta(days=1)
    return WorkCalendar(days=days, configured_years=[2026])


# Accepted Monday 11-02 10:00, decided Friday 11-13 10:00; paused Wednesday 09:00 to Friday 09:00.
ACCEPTED, DECIDED = at(2026, 11, 2, 10, 0), at(2026, 11, 13, 10, 0)
PAUSE = (at(2026, 11, 4, 9, 0), at(2026, 11, 6, 9, 0))


def test_handling_time_counts_working_days_without_the_start_day_net_of_the_pause(cal):
    minutes, days = deadlines.handling_time(
        cal,
        clock_start=ACCEPTED,
        accepted_at=ACCEPTED,
        decided_at=DECIDED,
        pauses=[PAUSE],
        statutory_unit=LimitUnit.WORKING_DAYS,
    )
    # Nine working days of 420 office minutes, less the two the pause covered (11-04, 11-05).
    assert (minutes, days) == (9 * 420 - 2 * 420, 9 - 2)


def test_handling_time_of_a_calendar_day_item_counts_calendar_days_less_the_paused_days(cal):
    minutes, days = deadlines.handling_time(
        cal,
        clock_start=ACCEPTED,
        accepted_at=ACCEPTED,
        decided_at=DECIDED,
        pauses=[PAUSE],
        statutory_unit=LimitUnit.CALENDAR_DAYS,
    )
    assert (minutes, days) == (7 * 420, 11 - 2)


def test_handling_time_never_goes_below_zero(cal):
    assert deadlines.handling_time(
        cal,
        clock_start=ACCEPTED,
        accepted_at=None,
        decided_at=ACCEPTED,
        pauses=[],
        statutory_unit=LimitUnit.NONE,
    ) == (0.0, 0.0)


def plan_of(**changes):
    plan = deadlines.ClockPlan(
        unit=LimitUnit.WORKING_DAYS,
        start=at(2026, 12, 1, 10, 0),
        committed_due=at(2026, 12, 29, 17, 30),
        statutory_due=at(2026, 12, 31, 17, 30),
        warn_50=at(2026, 12, 15, 10, 0),
        warn_75=at(2026, 12, 22, 10, 0),
        provisional=False,
    )
    return replace(plan, **changes)


def test_a_pause_moves_every_due_time_and_makes_the_clock_provisional_past_the_known_years(cal):
    plan = plan_of()
    shift = deadlines.pause_shift(cal, at(2026, 12, 2, 9, 0), at(2026, 12, 4, 9, 0), "鉴定")
    assert shift.working_days == 2
    moved = deadlines.shift_plan(cal, plan, shift, statutory_unit=LimitUnit.WORKING_DAYS)
    # A day clock moves by working days and keeps its time of day: a warning its hour, a due
    # time the close of business.
    assert moved.warn_50 == at(2026, 12, 17, 10, 0)
    assert moved.warn_75 == at(2026, 12, 24, 10, 0)
    assert moved.committed_due == at(2026, 12, 31, 17, 30)
    assert moved.statutory_due.date() == date(2027, 1, 4)  # 2027 is not configured
    assert moved.provisional and not plan.provisional
    assert (moved.unit, moved.start) == (plan.unit, plan.start)


def test_an_office_minute_clock_moves_by_the_paused_office_minutes(cal):
    plan = plan_of(
        unit=LimitUnit.OFFICE_MINUTES,
        committed_due=at(2026, 12, 1, 10, 30),
        warn_50=None,
        warn_75=None,
    )
    shift = deadlines.pause_shift(cal, at(2026, 12, 1, 10, 10), at(2026, 12, 1, 10, 25), "")
    moved = deadlines.shift_plan(cal, plan, shift, statutory_unit=LimitUnit.WORKING_DAYS)
    assert moved.committed_due == at(2026, 12, 1, 10, 45)
    assert moved.statutory_due == plan.statutory_due  # 15 minutes cover no whole working day
    assert (moved.warn_50, moved.warn_75) == (None, None)


def test_statutory_mode_takes_the_statutory_due_time_and_measures_the_warnings_again(cal):
    plan = plan_of(statutory_due=at(2026, 12, 11, 10, 0))
    kept = deadlines.statutory_plan(
        cal, plan, statutory_unit=LimitUnit.CALENDAR_DAYS, accepted_at=plan.start
    )
    assert kept.unit == LimitUnit.CALENDAR_DAYS
    assert kept.committed_due == kept.statutory_due == at(2026, 12, 11, 10, 0)
    # Eight working days of office time: 50% after four, 75% after six.
    assert (kept.warn_50, kept.warn_75) == (at(2026, 12, 7, 10, 0), at(2026, 12, 9, 10, 0))
    assert deadlines.statutory_note(cal, "需现场核查", kept.committed_due) == (
        "按法定时限办理（需现场核查）：承诺时限改为 2026-12-11 10:00"
    )
