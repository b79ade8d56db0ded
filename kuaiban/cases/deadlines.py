"""Clock plans for item cases. Pure: no ORM; the caller passes the item's policy and a calendar.

- Instant items: due `instant_minutes` office minutes after complete materials were received
  (an online submission counts from the first office minute after it arrived).
- Time-limited items: committed and statutory limits counted from acceptance in their unit
  (working days or calendar days); the start day is not counted.
- Statutory mode: the committed due time is the statutory one.
- Warnings at 50% and 75% of the committed time are measured in office minutes between the
  start and the committed due time, so every unit of limit is treated alike.
- A pause moves the clock (`pause_shift`, `shift_plan`); the handling time of a decided case is
  measured net of its pauses (`handling_time`).

The ORM side (`clocks`) and the history generator both call these, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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
    warn_50, warn_75 = cal.office_marks(start, due, (0.5, 0.75))
    return warn_50, warn_75


def plan_clock(
    cal: WorkCalendar,
    policy: LimitPolicy,
    *,
    received_at: datetime,
    accepted_at: datetime,
    statutory_mode: bool = False,
) -> ClockPlan:
    """Due times of a case accepted at `accepted_at`, its materials received at `received_at`."""
    received_at, accepted_at = cal.in_zone(received_at), cal.in_zone(accepted_at)
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


def statutory_plan(
    cal: WorkCalendar,
    plan: ClockPlan,
    *,
    statutory_unit: str,
    accepted_at: datetime | None,
) -> ClockPlan:
    """Statutory mode switched on for a running clock: the committed due time becomes the
    statutory one, counted in the statutory unit from acceptance (as `plan_clock` plans a
    statutory clock: an instant item's clock started at receipt), and the warnings are measured
    again, so a replay from scratch gives the same clock."""
    start = accepted_at or plan.start
    warn_50, warn_75 = plan.warn_50, plan.warn_75
    if plan.statutory_due and start:
        warn_50, warn_75 = warnings_between(cal, start, plan.statutory_due)
    return replace(
        plan,
        unit=statutory_unit,
        start=start,
        committed_due=plan.statutory_due,
        warn_50=warn_50,
        warn_75=warn_75,
    )


def statutory_note(cal: WorkCalendar, reason: str, committed_due: datetime | None) -> str:
    """The deadline note (and event reason) of a switch to statutory mode, in local time."""
    due = f"{cal.local(committed_due):%Y-%m-%d %H:%M}" if committed_due else "—"
    return f"按法定时限办理（{reason}）：承诺时限改为 {due}"


@dataclass(frozen=True)
class Shift:
    """How far a pause moves a clock, and the sentence that explains it."""

    working_days: int
    office_minutes: float
    explanation: str


def pause_shift(cal: WorkCalendar, started: datetime, ended: datetime, label: str) -> Shift:
    """The working time a pause took: office minutes, and the working days whose close of
    business came while the clock was stopped. Monday 10:00 to Tuesday 10:00 takes Monday;
    Monday evening to Tuesday morning takes none (no office day was lost); 09:00 to 15:00 takes
    none, 09:00 to after closing takes that day (the clock did not run again that day)."""
    minutes = cal.office_minutes_between(started, ended)
    start_day, end_day = cal.local(started).date(), cal.local(ended).date()
    first_day, last_day = start_day, end_day
    if started >= cal.close_of_business(start_day):
        first_day += timedelta(days=1)
    if ended < cal.close_of_business(end_day):
        last_day -= timedelta(days=1)
    days = cal.working_days_between(first_day - timedelta(days=1), last_day)
    days = max(days, 0) if minutes else 0
    text = (
        f"+{days} 个工作日（{minutes:.0f} 分钟办公时间）：{label} {start_day:%m-%d}…{end_day:%m-%d}"
    )
    return Shift(days, minutes, text)


def shift_due(cal: WorkCalendar, due: datetime, unit: str, shift: Shift) -> Deadline:
    """Move a due time by a pause: office-minute clocks by minutes, day clocks by working days,
    keeping the time of day (a due time stays at close of business, a warning at its hour)."""
    if unit == LimitUnit.OFFICE_MINUTES:
        return cal.add_office_minutes(due, round(shift.office_minutes))
    if shift.working_days == 0:
        return Deadline(due, False)
    moved = cal.add_working_days(due, shift.working_days)
    wall = datetime.combine(cal.local(moved.at).date(), cal.local(due).time())
    return Deadline(cal.aware(wall), moved.provisional)


def shift_plan(
    cal: WorkCalendar, plan: ClockPlan, shift: Shift, *, statutory_unit: str
) -> ClockPlan:
    """The clock after a pause: the committed due time and the warnings move in the clock's
    unit, the statutory due time in the statutory unit; provisional if any moved one is."""
    provisional = plan.provisional

    def move(due: datetime | None, unit: str) -> datetime | None:
        nonlocal provisional
        if due is None:
            return None
        result = shift_due(cal, due, unit, shift)
        provisional |= result.provisional
        return result.at

    moved = replace(
        plan,
        committed_due=move(plan.committed_due, plan.unit),
        statutory_due=move(plan.statutory_due, statutory_unit),
        warn_50=move(plan.warn_50, plan.unit),
        warn_75=move(plan.warn_75, plan.unit),
    )
    return within_the_law(replace(moved, provisional=provisional))


def within_the_law(plan: ClockPlan) -> ClockPlan:
    """The committed due time is never after the statutory one, nor a warning after it. An
    instant item's office-minute clock moves by every paused minute, its statutory day clock
    only by whole working days (a same-day pause moves it by none), so pauses could otherwise
    push the promise past the law — and the sweep expects the thresholds in that order."""
    if plan.committed_due is None or plan.statutory_due is None:
        return plan
    committed = min(plan.committed_due, plan.statutory_due)
    return replace(
        plan,
        committed_due=committed,
        warn_50=plan.warn_50 and min(plan.warn_50, committed),
        warn_75=plan.warn_75 and min(plan.warn_75, committed),
    )


def handling_time(
    cal: WorkCalendar,
    *,
    clock_start: datetime,
    accepted_at: datetime | None,
    decided_at: datetime,
    pauses: Iterable[tuple[datetime, datetime]],
    statutory_unit: str,
) -> tuple[float, float]:
    """How long a case took, net of its ended pauses `(started, ended)`: office minutes from the
    clock start (instant items' measure), and days in the statutory unit from the acceptance day
    (not counted). Calendar-day items count calendar days less the whole days paused; the others
    working days less the working days each pause moved the clock by (`pause_shift`)."""
    pauses = list(pauses)
    minutes = cal.office_minutes_between(clock_start, decided_at)
    minutes -= sum(cal.office_minutes_between(started, ended) for started, ended in pauses)
    start_day = cal.local(accepted_at or clock_start).date()
    end_day = cal.local(decided_at).date()
    if statutory_unit == LimitUnit.CALENDAR_DAYS:
        days = (end_day - start_day).days - sum((ended - started).days for started, ended in pauses)
    else:
        days = cal.working_days_between(start_day, end_day) - sum(
            pause_shift(cal, started, ended, "").working_days for started, ended in pauses
        )
    return max(minutes, 0.0), float(max(days, 0))


@dataclass(frozen=True)
class FollowUpPlan:
    """A follow-up's clock: verify, answer and escalate by these moments; warnings at 50% and
    75% of the office time to the answer."""

    verify_due: datetime
    answer_due: datetime
    escalate_at: datetime
    warn_50: datetime
    warn_75: datetime
    provisional: bool


def followup_plan(
    cal: WorkCalendar,
    opened_at: datetime,
    *,
    verify_days: int,
    answer_days: int,
    escalate_days: int,
) -> FollowUpPlan:
    """The rule "verify within 1 working day, rectify and answer within 5, escalate at 15"
    (domain.md §4; the numbers are the policy's): close of business of the n-th working day
    after the day the follow-up opened."""
    verify = cal.add_working_days(opened_at, verify_days)
    answer = cal.add_working_days(opened_at, answer_days)
    escalate = cal.add_working_days(opened_at, escalate_days)
    warn_50, warn_75 = warnings_between(cal, opened_at, answer.at)
    return FollowUpPlan(
        verify.at,
        answer.at,
        escalate.at,
        warn_50,
        warn_75,
        verify.provisional or answer.provisional or escalate.provisional,
    )


@dataclass(frozen=True)
class DayPlan:
    """A clock of n working days: due at the close of business of the n-th working day after the
    day it started, warnings at 50% and 75% of the office time to it."""

    due: datetime
    warn_50: datetime
    warn_75: datetime
    provisional: bool


def working_days_plan(cal: WorkCalendar, start: datetime, days: int) -> DayPlan:
    """The rule of a commitment's post-hoc verification ("20 working days after the decision",
    domain.md §5; the number is the material's policy) and of a hearing notice's answer time."""
    due = cal.add_working_days(start, days)
    warn_50, warn_75 = warnings_between(cal, start, due.at)
    return DayPlan(due.at, warn_50, warn_75, due.provisional)
