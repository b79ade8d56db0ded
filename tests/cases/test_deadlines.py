"""The pure clock maths (`kuaiban/cases/deadlines.py`), table by table, without a database: a
`WorkCalendar` built from explicit days of 2026 (2027 not configured), office hours 09:00–12:00
and 13:30–17:30. Each row names the rule it checks."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kuaiban.cases.deadlines import (
    LimitPolicy,
    Shift,
    add_limit,
    pause_shift,
    plan_clock,
    shift_due,
    warnings_between,
)
from kuaiban.workdays.arithmetic import WorkCalendar
from kuaiban.workdays.units import LimitUnit

SH = ZoneInfo("Asia/Shanghai")
WD, CD, MIN, NONE = (
    LimitUnit.WORKING_DAYS,
    LimitUnit.CALENDAR_DAYS,
    LimitUnit.OFFICE_MINUTES,
    LimitUnit.NONE,
)


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# The State Council's 2026 schedule around the dates used here; other days follow the weekday.
HOLIDAYS_2026 = [
    *days_between(date(2026, 2, 16), date(2026, 2, 20)),  # Spring Festival
    date(2026, 2, 23),
    date(2026, 9, 25),  # Mid-Autumn
    date(2026, 10, 1),  # National Day
    date(2026, 10, 2),
    *days_between(date(2026, 10, 5), date(2026, 10, 7)),
]
MAKEUP_2026 = [date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]
CAL = WorkCalendar(
    days={day: False for day in HOLIDAYS_2026} | {day: True for day in MAKEUP_2026},
    configured_years=[2026],
)

INSTANT = LimitPolicy(
    instant=True,
    instant_minutes=30,
    committed_limit=None,
    committed_unit=NONE,
    statutory_limit=5,
    statutory_unit=WD,
)
WORKING = LimitPolicy(
    instant=False,
    instant_minutes=30,
    committed_limit=10,
    committed_unit=WD,
    statutory_limit=20,
    statutory_unit=WD,
)
CALENDAR = LimitPolicy(
    instant=False,
    instant_minutes=30,
    committed_limit=30,
    committed_unit=CD,
    statutory_limit=60,
    statutory_unit=CD,
)
NO_COMMITMENT = LimitPolicy(
    instant=False,
    instant_minutes=30,
    committed_limit=None,
    committed_unit=NONE,
    statutory_limit=20,
    statutory_unit=WD,
)
STATUTORY_ITEM = LimitPolicy(
    instant=False,
    instant_minutes=30,
    committed_limit=20,
    committed_unit=WD,
    statutory_limit=20,
    statutory_unit=WD,
    statutory_mode=True,
)
NO_LIMIT = LimitPolicy(
    instant=False,
    instant_minutes=30,
    committed_limit=None,
    committed_unit=NONE,
    statutory_limit=None,
    statutory_unit=NONE,
)


# -- plan_clock ---------------------------------------------------------------------------------

PLANS = [
    # (rule, policy, received, accepted, statutory mode,
    #  unit, start, committed due, statutory due, provisional)
    pytest.param(
        INSTANT, at(2026, 11, 24, 7, 50), at(2026, 11, 24, 10, 0), False,
        MIN, at(2026, 11, 24, 9, 0), at(2026, 11, 24, 9, 30), at(2026, 12, 1, 17, 30), False,
        id="instant: an online submission before opening counts from 09:00, not acceptance",
    ),
    pytest.param(
        INSTANT, at(2026, 11, 20, 17, 55), at(2026, 11, 20, 17, 55), False,
        MIN, at(2026, 11, 23, 9, 0), at(2026, 11, 23, 9, 30), at(2026, 11, 27, 17, 30), False,
        id="instant: Friday 17:55 is received Monday 09:00",
    ),
    pytest.param(
        INSTANT, at(2026, 9, 30, 17, 15), at(2026, 9, 30, 17, 15), False,
        MIN, at(2026, 9, 30, 17, 15), at(2026, 10, 8, 9, 15), at(2026, 10, 13, 17, 30), False,
        id="instant: 15 minutes before the National Day week, 15 after; make-up Saturday counts",
    ),
    pytest.param(
        WORKING, at(2026, 9, 24), at(2026, 9, 24), False,
        WD, at(2026, 9, 24), at(2026, 10, 15, 17, 30), at(2026, 10, 29, 17, 30), False,
        id="working days: start day not counted, Mid-Autumn and National Day skipped",
    ),
    pytest.param(
        WORKING, at(2026, 2, 13, 11, 0), at(2026, 2, 13, 11, 0), False,
        WD, at(2026, 2, 13, 11, 0), at(2026, 3, 5, 17, 30), at(2026, 3, 19, 17, 30), False,
        id="working days: Spring Festival skipped, make-up Saturdays 02-14 and 02-28 count",
    ),
    pytest.param(
        CALENDAR, at(2026, 8, 3), at(2026, 8, 3), False,
        CD, at(2026, 8, 3), at(2026, 9, 2, 17, 30), at(2026, 10, 8, 17, 30), False,
        id="calendar days: a period ending on a holiday (10-02) moves to the next working day",
    ),
    pytest.param(
        CALENDAR, at(2026, 10, 16), at(2026, 10, 16), False,
        CD, at(2026, 10, 16), at(2026, 11, 16, 17, 30), at(2026, 12, 15, 17, 30), False,
        id="calendar days: a period ending on a Sunday moves to Monday",
    ),
    pytest.param(
        WORKING, at(2026, 9, 24), at(2026, 9, 24), True,
        WD, at(2026, 9, 24), at(2026, 10, 29, 17, 30), at(2026, 10, 29, 17, 30), False,
        id="statutory mode: the committed due time is the statutory one",
    ),
    pytest.param(
        STATUTORY_ITEM, at(2026, 9, 24), at(2026, 9, 24), False,
        WD, at(2026, 9, 24), at(2026, 10, 29, 17, 30), at(2026, 10, 29, 17, 30), False,
        id="statutory mode by the catalog: the same without the case's switch",
    ),
    pytest.param(
        INSTANT, at(2026, 11, 24, 7, 50), at(2026, 11, 24, 10, 0), True,
        WD, at(2026, 11, 24, 10, 0), at(2026, 12, 1, 17, 30), at(2026, 12, 1, 17, 30), False,
        id="statutory mode of an instant item: the statutory clock, counted from acceptance",
    ),
    pytest.param(
        NO_COMMITMENT, at(2026, 9, 24), at(2026, 9, 24), False,
        NONE, at(2026, 9, 24), None, at(2026, 10, 29, 17, 30), False,
        id="no committed limit: no committed due time, the statutory one still runs",
    ),
    pytest.param(
        NO_LIMIT, at(2026, 9, 24), at(2026, 9, 24), True,
        NONE, at(2026, 9, 24), None, None, False,
        id="no limit at all: statutory mode has nothing to keep",
    ),
    pytest.param(
        WORKING, at(2026, 12, 24), at(2026, 12, 24), False,
        WD, at(2026, 12, 24), at(2027, 1, 7, 17, 30), at(2027, 1, 21, 17, 30), True,
        id="a year not configured: Monday-Friday assumed, the due times provisional",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "policy",
        "received",
        "accepted",
        "statutory_mode",
        "unit",
        "start",
        "committed",
        "statutory",
        "provisional",
    ),
    PLANS,
)
def test_plan_clock(
    policy, received, accepted, statutory_mode, unit, start, committed, statutory, provisional
):
    plan = plan_clock(
        CAL, policy, received_at=received, accepted_at=accepted, statutory_mode=statutory_mode
    )
    assert (plan.unit, plan.start) == (unit, start)
    assert (plan.committed_due, plan.statutory_due) == (committed, statutory)
    assert plan.provisional is provisional
    if committed is None:
        assert (plan.warn_50, plan.warn_75) == (None, None)
    else:  # the warnings are those of the committed period (see the table below)
        assert (plan.warn_50, plan.warn_75) == warnings_between(CAL, start, committed)


# -- warnings_between ---------------------------------------------------------------------------

WARNINGS = [
    # (rule, start, due, 50%, 75%)
    pytest.param(
        at(2026, 11, 24, 9, 0), at(2026, 11, 24, 9, 30),
        at(2026, 11, 24, 9, 15), at(2026, 11, 24, 9, 22),
        id="30 office minutes: 15 and 22 (22.5 rounds half to even)",
    ),
    pytest.param(
        at(2026, 11, 24, 11, 45), at(2026, 11, 24, 13, 45),
        at(2026, 11, 24, 12, 0), at(2026, 11, 24, 13, 37),
        id="lunch is not office time: 30 minutes from 11:45 to 13:45",
    ),
    pytest.param(
        at(2026, 11, 20, 17, 55), at(2026, 11, 23, 9, 30),
        at(2026, 11, 23, 9, 15), at(2026, 11, 23, 9, 22),
        id="a start after closing counts from the next opening",
    ),
    pytest.param(
        at(2026, 9, 24), at(2026, 10, 15, 17, 30),
        at(2026, 10, 9, 14, 30), at(2026, 10, 13, 11, 0),
        id="working days: 4560 office minutes, holidays do not count",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("start", "due", "warn_50", "warn_75"), WARNINGS)
def test_warnings_between(start, due, warn_50, warn_75):
    assert warnings_between(CAL, start, due) == (warn_50, warn_75)


# -- pause_shift --------------------------------------------------------------------------------

PAUSES = [
    # (rule, started, ended, working days, office minutes)
    pytest.param(
        at(2026, 11, 24, 10, 0), at(2026, 11, 24, 15, 0), 0, 210,
        id="same day: no working day, only its office minutes",
    ),
    pytest.param(
        at(2026, 11, 24, 9, 0), at(2026, 11, 24, 17, 29), 0, 419,
        id="same day, resumed a minute before closing: the clock runs again that day",
    ),
    pytest.param(
        at(2026, 11, 24, 9, 0), at(2026, 11, 24, 17, 30), 1, 420,
        id="same day, resumed at closing: the day is taken",
    ),
    pytest.param(
        at(2026, 11, 24, 15, 0), at(2026, 11, 24, 18, 0), 1, 150,
        id="same day, stopped at closing time: the day is taken",
    ),
    pytest.param(
        at(2026, 11, 24, 10, 0), at(2026, 11, 25, 10, 0), 1, 420,
        id="overnight, begun in office hours: the first day counts",
    ),
    pytest.param(
        at(2026, 11, 24, 10, 0), at(2026, 11, 25, 18, 0), 2, 780,
        id="overnight, resumed after closing: both days count",
    ),
    pytest.param(
        at(2026, 11, 24, 12, 10), at(2026, 11, 25, 9, 0), 1, 240,
        id="begun at lunch, before closing: the first day counts",
    ),
    pytest.param(
        at(2026, 11, 24, 18, 0), at(2026, 11, 25, 10, 0), 0, 60,
        id="overnight, begun after closing: no working day was taken",
    ),
    pytest.param(
        at(2026, 11, 24, 17, 31), at(2026, 11, 25, 17, 29), 0, 419,
        id="from after closing to before the next closing: no close of business stopped",
    ),
    pytest.param(
        at(2026, 11, 20, 10, 0), at(2026, 11, 23, 10, 0), 1, 420,
        id="over a weekend: Friday counts, Saturday and Sunday do not",
    ),
    pytest.param(
        at(2026, 11, 20, 17, 55), at(2026, 11, 23, 8, 30), 0, 0,
        id="Friday after closing to Monday before opening: nothing",
    ),
    pytest.param(
        at(2026, 11, 21, 10, 0), at(2026, 11, 24, 10, 0), 1, 480,
        id="begun on a Saturday: Monday counts",
    ),
    pytest.param(
        at(2026, 2, 13, 10, 0), at(2026, 3, 2, 10, 0), 7, 2940,
        id="over Spring Festival: the make-up Saturdays 02-14 and 02-28 count",
    ),
    pytest.param(
        at(2026, 9, 30, 10, 0), at(2026, 10, 8, 10, 0), 1, 420,
        id="over the National Day week: only 09-30",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("started", "ended", "days", "minutes"), PAUSES)
def test_pause_shift(started, ended, days, minutes):
    shift = pause_shift(CAL, started, ended, "专家评审")
    assert (shift.working_days, shift.office_minutes) == (days, minutes)
    assert shift.explanation.startswith(f"+{days} 个工作日（{minutes} 分钟办公时间）：专家评审")


# -- shift_due ----------------------------------------------------------------------------------

SHIFTS = [
    # (rule, due, unit, working days, office minutes, moved due, provisional)
    pytest.param(
        at(2026, 11, 27, 17, 30), WD, 1, 420, at(2026, 11, 30, 17, 30), False,
        id="a working-day clock moves by working days: Friday to Monday",
    ),
    pytest.param(
        at(2026, 11, 27, 14, 0), WD, 1, 420, at(2026, 11, 30, 14, 0), False,
        id="a warning of a day clock keeps its time of day",
    ),
    pytest.param(
        at(2026, 2, 13, 17, 30), WD, 2, 840, at(2026, 2, 24, 17, 30), False,
        id="over Spring Festival: make-up Saturday 02-14 is the first day, 02-24 the second",
    ),
    pytest.param(
        at(2026, 9, 30, 17, 30), CD, 1, 420, at(2026, 10, 8, 17, 30), False,
        id="a calendar-day clock also moves by the working days the pause took",
    ),
    pytest.param(
        at(2026, 11, 27, 17, 30), WD, 0, 210, at(2026, 11, 27, 17, 30), False,
        id="a pause that took no working day leaves a day clock alone",
    ),
    pytest.param(
        at(2026, 11, 24, 9, 30), MIN, 1, 420, at(2026, 11, 25, 9, 30), False,
        id="an office-minute clock moves by the office minutes",
    ),
    pytest.param(
        at(2026, 11, 24, 9, 30), MIN, 0, 210, at(2026, 11, 24, 14, 30), False,
        id="an office-minute clock moves even by a same-day pause, over lunch",
    ),
    pytest.param(
        at(2026, 12, 31, 17, 30), WD, 1, 420, at(2027, 1, 1, 17, 30), True,
        id="into a year not configured: provisional",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("due", "unit", "days", "minutes", "moved", "provisional"), SHIFTS)
def test_shift_due(due, unit, days, minutes, moved, provisional):
    result = shift_due(CAL, due, unit, Shift(days, minutes, ""))
    assert result.at == moved
    assert result.provisional is provisional


# -- add_limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "due"),
    [
        pytest.param(10, WD, at(2026, 10, 15, 17, 30), id="working days"),
        pytest.param(14, CD, at(2026, 10, 8, 17, 30), id="calendar days, 10-08 a working day"),
        pytest.param(30, MIN, at(2026, 9, 24, 10, 30), id="office minutes"),
    ],
)
def test_add_limit_counts_in_the_limit_unit(amount, unit, due):
    assert add_limit(CAL, at(2026, 9, 24), amount, unit).at == due


@pytest.mark.parametrize("unit", [NONE, "fortnights"])
def test_add_limit_refuses_a_unit_without_arithmetic(unit):
    with pytest.raises(ValueError, match="no arithmetic for limit unit"):
        add_limit(CAL, at(2026, 9, 24), 10, unit)
