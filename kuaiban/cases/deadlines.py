"""Clock plans for item cases. Pure: no ORM; the caller passes the item's policy and a calendar.

- Instant items: due `instant_minutes` office minutes after complete materials were received
  (an online submission counts from the first office minute after it arrived).
- Time-limited items: committed and statutory limits counted from acceptance in their unit
  (working days or calendar days); the start day is not counted.
- Statutory mode: the committed due time is the statutory one.
- Warnings at 50% and 75% of the committed time are measured in office minutes between the
  start and the committed due time, so every unit of limit is treated alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kuaiban.workdays.arithmetic import Deadline, WorkCalendar
from kuaiban.workdays.units import LimitUnit


@dataclass(frozen=True)
class LimitPolicy:
    """What the catalog says about one item's time limits (copied from `ServiceItem`)."""

    instant: bool
    instant_minutes: int
    committed_limit: int | None
    committed_unit: str
    statutory_limit: int | None
    statutory_unit: str
    statutory_mode: bool = False

    @classmethod
    def of(cls, item) -> LimitPolicy:
        return cls(
            instant=item.is_instant,
            instant_minutes=item.instant_minutes,
            committed_limit=item.committed_limit,
            committed_unit=item.committed_unit,
            statutory_limit=item.statutory_limit,
            statutory_unit=item.statutory_unit,
            statutory_mode=item.statutory_mode,
        )


@dataclass(frozen=True)
class ClockPlan:
    unit: str
    start: datetime
    committed_due: datetime | None
    statutory_due: datetime | None
    warn_50: datetime | None
    warn_75: datetime | None
    provisional: bool


def add_limit(cal: WorkCalendar, start: datetime, amount: int, unit: str) -> Deadline:
    if unit == LimitUnit.WORKING_DAYS:
        return cal.add_working_days(start, amount)
    if unit == LimitUnit.CALENDAR_DAYS:
        return cal.add_calendar_days(start, amount)
    if unit == LimitUnit.OFFICE_MINUTES:
        return cal.add_office_minutes(start, amount)
    raise ValueError(f"no arithmetic for limit unit {unit!r}")


def warnings_between(
    cal: WorkCalendar, start: datetime, due: datetime
) -> tuple[datetime, datetime]:
    """The instants when 50% and 75% of the office time from start to due have passed."""
    total = cal.office_minutes_between(start, due)
    first = cal.next_office_minute(start)
    return (
        cal.add_office_minutes(first, round(total * 0.5)).at,
        cal.add_office_minutes(first, round(total * 0.75)).at,
    )


def plan_clock(
    cal: WorkCalendar,
    policy: LimitPolicy,
    *,
    received_at: datetime,
    accepted_at: datetime,
    statutory_mode: bool = False,
) -> ClockPlan:
    """Due times of a case accepted at `accepted_at`, its materials received at `received_at`."""
    statutory = None
    provisional = False
    if policy.statutory_limit and policy.statutory_unit != LimitUnit.NONE:
        statutory = add_limit(cal, accepted_at, policy.statutory_limit, policy.statutory_unit)
        provisional |= statutory.provisional
    keep_statutory = (statutory_mode or policy.statutory_mode) and statutory is not None
    if keep_statutory:
        unit, start, committed = policy.statutory_unit, accepted_at, statutory
    elif policy.instant:
        unit, start = LimitUnit.OFFICE_MINUTES, cal.next_office_minute(received_at)
        committed = cal.add_office_minutes(start, policy.instant_minutes)
    elif policy.committed_limit and policy.committed_unit != LimitUnit.NONE:
        unit, start = policy.committed_unit, accepted_at
        committed = add_limit(cal, accepted_at, policy.committed_limit, policy.committed_unit)
    else:
        unit, start, committed = LimitUnit.NONE, accepted_at, None
    if committed is None:
        return ClockPlan(unit, start, None, statutory and statutory.at, None, None, provisional)
    provisional |= committed.provisional
    warn_50, warn_75 = warnings_between(cal, start, committed.at)
    return ClockPlan(
        unit, start, committed.at, statutory and statutory.at, warn_50, warn_75, provisional
    )


@dataclass(frozen=True)
class Shift:
    """How far a pause moves a clock, and the sentence that explains it."""

    working_days: int
    office_minutes: float
    explanation: str


def pause_shift(cal: WorkCalendar, started: datetime, ended: datetime, label: str) -> Shift:
    """The working time a pause took: office minutes, and whole working days it covered."""
    minutes = cal.office_minutes_between(started, ended)
    start_day, end_day = cal.local(started).date(), cal.local(ended).date()
    # Days whose office hours the pause covered (start day counts when it began before closing).
    days = cal.working_days_between(start_day - timedelta(days=1), end_day - timedelta(days=1))
    days = max(days, 0) if minutes else 0
    text = (
        f"+{days} 个工作日（{minutes:.0f} 分钟办公时间）：{label} {start_day:%m-%d}…{end_day:%m-%d}"
    )
    return Shift(days, minutes, text)


def shift_due(cal: WorkCalendar, due: datetime, unit: str, shift: Shift) -> Deadline:
    """Move a due time by a pause: office-minute clocks by minutes, day clocks by working days."""
    if unit == LimitUnit.OFFICE_MINUTES:
        return cal.add_office_minutes(due, round(shift.office_minutes))
    if shift.working_days == 0:
        return Deadline(due, False)
    return cal.add_working_days(due, shift.working_days)
