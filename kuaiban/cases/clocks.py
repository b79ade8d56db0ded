"""The stored clock of an item case: setting and moving it (the ORM side of the pure
`deadlines`), its thresholds, and how it reads at a given moment (colour, time left)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kuaiban.id_lists import ids_in
from kuaiban.workdays.arithmetic import WorkCalendar
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit

from . import deadlines
from .models import (
    RUNNING_CLOCK_STATES,
    CaseEvent,
    CasePause,
    CaseState,
    EventAction,
    ExtensionRequest,
    FlagKind,
    ItemCase,
)


@dataclass(frozen=True)
class Threshold:
    """One threshold of a running clock: the field holding its moment and the field recording
    when its flag fired (once)."""

    kind: FlagKind
    at: str
    fired: str


# In the order they come due: 50% and 75% of the committed time, overdue, statutory breach.
THRESHOLDS = (
    Threshold(FlagKind.WARN_50, "warn_50_at", "flag_50_at"),
    Threshold(FlagKind.WARN_75, "warn_75_at", "flag_75_at"),
    Threshold(FlagKind.OVERDUE, "committed_due_at", "overdue_at"),
    Threshold(FlagKind.BREACH, "statutory_due_at", "breach_at"),
)
# The moments that make up a clock: what a recompute compares before and after.
DUE_FIELDS = ("committed_due_at", "statutory_due_at", "warn_50_at", "warn_75_at")


@dataclass(frozen=True)
class EventThreshold:
    """One threshold of another working-day clock (a follow-up's, a commitment check's): the
    field holding its moment, the field recording when its flag fired (once), and the action of
    the event it writes."""

    action: str
    at: str
    fired: str


def earliest_unfired(thresholds, moments: Mapping[str, datetime | None]) -> datetime | None:
    """The sweep's key of any clock: the earliest of `thresholds` whose flag has not fired;
    `moments` holds the threshold and fired fields by name (a missing one is empty)."""
    pending = [
        moment
        for t in thresholds
        if moments.get(t.fired) is None and (moment := moments.get(t.at)) is not None
    ]
    return min(pending, default=None)


def moments_of(row, thresholds) -> dict[str, datetime | None]:
    """A row's threshold and fired fields by name, for `earliest_unfired`."""
    return {name: getattr(row, name) for t in thresholds for name in (t.at, t.fired)}


def refresh_next_flag(case: ItemCase) -> None:
    """Keep `next_flag_at` (the sweep's index key) equal to the earliest threshold whose flag has
    not fired, while the clock runs; None when paused, decided or closed."""
    if case.state not in RUNNING_CLOCK_STATES:
        case.next_flag_at = None
        return
    case.next_flag_at = earliest_unfired(THRESHOLDS, moments_of(case, THRESHOLDS))


def clock_start(
    case: ItemCase, *, received_at: datetime, accepted_at: datetime, cal: WorkCalendar | None = None
) -> None:
    """Give a newly accepted case its committed and statutory due times (not saved here).

    The item's policy decides; a case's own statutory mode is a later switch
    (`clock_to_statutory`), replayed after this by `clock_recompute`, so the original due times
    stay the commitment's."""
    plan = deadlines.plan_clock(
        cal or calendar_from_db(),
        deadlines.LimitPolicy.of(case.item),
        received_at=received_at,
        accepted_at=accepted_at,
    )
    case.received_at = received_at
    case.accepted_at = accepted_at
    case.clock_unit = plan.unit
    case.clock_start = plan.start
    case.committed_due_at = case.original_committed_due_at = plan.committed_due
    case.statutory_due_at = case.original_statutory_due_at = plan.statutory_due
    case.warn_50_at, case.warn_75_at = plan.warn_50, plan.warn_75
    case.due_provisional = plan.provisional


def _stored_plan(case: ItemCase) -> deadlines.ClockPlan:
    """The case's stored clock as a plan, for the pure arithmetic of `deadlines`."""
    if case.clock_start is None:
        raise ValueError(f"the clock of {case} has not started")
    return deadlines.ClockPlan(
        unit=case.clock_unit,
        start=case.clock_start,
        committed_due=case.committed_due_at,
        statutory_due=case.statutory_due_at,
        warn_50=case.warn_50_at,
        warn_75=case.warn_75_at,
        provisional=case.due_provisional,
    )


def _store_plan(case: ItemCase, plan: deadlines.ClockPlan) -> None:
    case.clock_unit = plan.unit
    case.clock_start = plan.start
    case.committed_due_at, case.statutory_due_at = plan.committed_due, plan.statutory_due
    case.warn_50_at, case.warn_75_at = plan.warn_50, plan.warn_75
    case.due_provisional = plan.provisional


def clock_shift_for_pause(
    case: ItemCase,
    *,
    started: datetime,
    ended: datetime,
    label: str,
    cal: WorkCalendar | None = None,
) -> str:
    """Move both due times (and the warnings) by the paused working time; returns the reason."""
    cal = cal or calendar_from_db()
    shift = deadlines.pause_shift(cal, started, ended, label)
    _store_plan(
        case,
        deadlines.shift_plan(
            cal, _stored_plan(case), shift, statutory_unit=case.item.statutory_unit
        ),
    )
    case.add_note(shift.explanation)
    return shift.explanation


def clock_to_statutory(case: ItemCase, *, reason: str, cal: WorkCalendar | None = None) -> str:
    """Statutory mode: the committed due time becomes the statutory one."""
    cal = cal or calendar_from_db()
    _store_plan(
        case,
        deadlines.statutory_plan(
            cal,
            _stored_plan(case),
            statutory_unit=case.item.statutory_unit,
            accepted_at=case.accepted_at,
        ),
    )
    note = deadlines.statutory_note(cal, reason, case.committed_due_at)
    case.add_note(note)
    return note


def runs_on_statutory_limit(case: ItemCase) -> bool:
    """Statutory mode: switched on for the case, or the item's own rule in the catalog."""
    return case.statutory_mode or case.item.statutory_mode


def _warnings_to_committed(case: ItemCase, cal) -> None:
    if case.committed_due_at and case.clock_start:
        case.warn_50_at, case.warn_75_at = deadlines.warnings_between(
            cal, case.clock_start, case.committed_due_at
        )


def _fmt(value: datetime | None, cal: WorkCalendar) -> str | None:
    """A due time as the note shows it: the calendar's local time, to the minute."""
    # isoformat, not strftime: the same text, several times faster (a recompute writes
    # four per moved clock).
    return cal.local(value).isoformat(" ", "minutes") if value else None


def clock_extend(case: ItemCase, *, reason: str, cal: WorkCalendar | None = None) -> str:
    """An approved extension moves the statutory due time by the item's extension (and, in
    statutory mode, the committed one with it: there the commitment is the statutory limit)."""
    amount, unit = case.item.extension_limit, case.item.extension_unit
    if case.statutory_due_at is None or not amount:
        raise ValueError(f"{case} has no statutory limit to extend")
    cal = cal or calendar_from_db()
    moved = deadlines.add_limit(cal, case.statutory_due_at, amount, unit)
    case.statutory_due_at = moved.at
    case.due_provisional = case.due_provisional or moved.provisional
    if runs_on_statutory_limit(case):
        case.committed_due_at = case.statutory_due_at
        _warnings_to_committed(case, cal)
    note = f"延长 {amount} {'个工作日' if unit == LimitUnit.WORKING_DAYS else '日'}（{reason}）"
    case.add_note(note)
    return note


@dataclass
class ClockHistory:
    """What moved a clock since acceptance: its pauses, its approved and other extension
    requests, and its switches to statutory mode (events, in time order)."""

    pauses: list[CasePause] = field(default_factory=list)
    extensions: list[ExtensionRequest] = field(default_factory=list)
    statutory_switches: list[CaseEvent] = field(default_factory=list)


def clock_histories(cases: list[ItemCase]) -> dict[int, ClockHistory]:
    """The histories of many cases in at most three queries (a recompute batch); a case with
    none has an empty one. The statutory-mode switches are read only for the cases in that mode
    (as `_clock_history` reads them for one case)."""
    case_ids = [case.pk for case in cases]
    histories = {pk: ClockHistory() for pk in case_ids}
    # In the models' own order, as `case.pauses.all()` reads them.
    for pause in CasePause.objects.filter(ids_in("item_case_id", case_ids)):
        histories[pause.item_case_id].pauses.append(pause)
    for extension in ExtensionRequest.objects.filter(ids_in("item_case_id", case_ids)):
        histories[extension.item_case_id].extensions.append(extension)
    statutory = [case.pk for case in cases if case.statutory_mode]
    if statutory:
        switches = CaseEvent.objects.filter(
            ids_in("item_case_id", statutory), action=EventAction.STATUTORY_MODE
        ).order_by("at", "id")
        for event in switches:
            histories[event.item_case_id].statutory_switches.append(event)
    return histories


def _clock_history(
    case: ItemCase, accepted_at: datetime, cal: WorkCalendar, history: ClockHistory | None
) -> list[tuple[datetime, int, Callable[[], object]]]:
    """What moved the clock since acceptance, as (when, tie-break, replay) in any order: ended
    pauses (at their resumption), the switch to statutory mode, approved extensions. Read from
    `history` when the caller has it (`clock_histories`, for a batch), else from the case."""
    if history is None:
        history = ClockHistory(
            pauses=list(case.pauses.all()),
            extensions=list(case.extensions.all()),
            statutory_switches=(
                list(case.events.filter(action=EventAction.STATUTORY_MODE))
                if case.statutory_mode
                else []
            ),
        )
    steps: list[tuple[datetime, int, Callable[[], object]]] = [
        (
            pause.ended_at,
            0,
            partial(
                clock_shift_for_pause,
                case,
                started=pause.started_at,
                ended=pause.ended_at,
                label=pause.get_kind_display(),
                cal=cal,
            ),
        )
        for pause in history.pauses
        if pause.ended_at is not None
    ]
    if case.statutory_mode:
        # The event log says when; a case without the event was in statutory mode from the start.
        switched = min(((e.at, e.pk) for e in history.statutory_switches), default=(None, None))[0]
        steps.append(
            (
                switched or accepted_at,
                1,
                partial(clock_to_statutory, case, reason=case.statutory_mode_reason, cal=cal),
            )
        )
    for extension in history.extensions:
        if extension.status == ExtensionRequest.Status.APPROVED:
            steps.append(
                (
                    extension.decided_at or accepted_at,
                    2,
                    partial(clock_extend, case, reason="", cal=cal),
                )
            )
    return steps


# What a recompute may change on the case (besides notes): saved in bulk by a batch.
RECOMPUTED_FIELDS = (
    "clock_unit",
    "clock_start",
    "committed_due_at",
    "original_committed_due_at",
    "statutory_due_at",
    "original_statutory_due_at",
    "warn_50_at",
    "warn_75_at",
    "due_provisional",
    "deadline_notes",
    "next_flag_at",
)


def clock_recompute(
    case: ItemCase, cal: WorkCalendar | None = None, history: ClockHistory | None = None
) -> str | None:
    """Plan the clock again from the current calendar (or `cal`), replaying its pauses,
    statutory mode and approved extensions (from `history` when the caller read it for a batch).
    Returns the explanation when a due time or a warning moved, else None.

    The steps are replayed in the order they happened, as the live services applied them: a
    pause moves day clocks by working days and an extension in calendar days rolls a rest day
    forward, so the two do not commute.
    """
    accepted_at, received_at = case.accepted_at, case.received_at
    if accepted_at is None or received_at is None:
        return None
    cal = cal or calendar_from_db()
    before = tuple(getattr(case, field) for field in DUE_FIELDS)
    notes = case.deadline_notes
    clock_start(case, received_at=received_at, accepted_at=accepted_at, cal=cal)
    steps = _clock_history(case, accepted_at, cal, history)
    for _when, _order, replay in sorted(steps, key=lambda step: step[:2]):
        replay()
    case.deadline_notes = notes
    after = tuple(getattr(case, field) for field in DUE_FIELDS)
    if after == before:
        return None
    if after[:2] == before[:2]:
        note = "日历变更，重新计算：预警时间调整，承诺时限和法定时限不变"
    else:
        note = (
            f"日历变更，重新计算：承诺时限 {_fmt(before[0], cal)} → {_fmt(after[0], cal)}；"
            f"法定时限 {_fmt(before[1], cal)} → {_fmt(after[1], cal)}"
        )
    case.add_note(note)
    return note


def record_handling_time(case: ItemCase, *, decided_at: datetime) -> None:
    """Store how long the case took, net of pauses (`deadlines.handling_time`)."""
    if case.clock_start is None:
        return
    case.handling_minutes, case.handling_days = deadlines.handling_time(
        calendar_from_db(),
        clock_start=case.clock_start,
        accepted_at=case.accepted_at,
        decided_at=decided_at,
        pauses=[
            (started, ended)
            for started, ended in case.pauses.values_list("started_at", "ended_at")
            if ended is not None
        ],
        statutory_unit=case.item.statutory_unit,
    )


def flag_event_facts(kind: str) -> tuple[str, dict]:
    """The reason and data of the event that records a fired flag: the flag's label in the
    portal's language (stored text) and its kind. The sweep and the history generator use it."""
    kind = FlagKind(kind)
    with translation.override(settings.LANGUAGE_CODE):
        return str(kind.label), {"kind": kind.value}


# -- how a clock reads at a moment -----------------------------------------------------------

FINE, PAST50, PAST75, OVERDUE, PAUSED = "fine", "past50", "past75", "overdue", "paused"

CLOCK_LABELS = {
    FINE: _("On time"),
    PAST50: _("Past 50%"),
    PAST75: _("Past 75%"),
    OVERDUE: _("Overdue"),
    PAUSED: _("Clock paused"),
}


def clock_colour(case: ItemCase, now: datetime) -> str:
    """The colour of a case's clock at `now`, from its stored clock fields only.

    paused (the clock is stopped) › overdue (the committed due time has passed) › past75 ›
    past50 › fine (less than half of the committed time used).
    """
    if case.state == CaseState.PAUSED:
        return PAUSED
    if case.committed_due_at is not None and now >= case.committed_due_at:
        return OVERDUE
    if case.warn_75_at is not None and now >= case.warn_75_at:
        return PAST75
    if case.warn_50_at is not None and now >= case.warn_50_at:
        return PAST50
    return FINE


def time_left(case: ItemCase, now: datetime) -> timedelta | None:
    """Wall-clock time until the committed due time (negative when overdue). A paused case keeps
    what it had left when it was paused: resuming moves the due time by the paused time."""
    if case.committed_due_at is None:
        return None
    reference = case.paused_since if case.state == CaseState.PAUSED and case.paused_since else now
    return case.committed_due_at - reference


@dataclass(frozen=True)
class ClockReading:
    """How a case's clock reads at a moment: its colour and the wall-clock time left."""

    colour: str
    time_left: timedelta | None

    @property
    def label(self):
        return CLOCK_LABELS[self.colour]


@dataclass(frozen=True)
class OfficeTimeLeft:
    """The time left to the committed due time counted as the clock counts it: working days
    (in steps of half a day) for a working-day clock, days for a calendar-day one, office
    minutes for an instant item's — never wall-clock hours, which a weekend would inflate.
    Negative: overdue by that much."""

    amount: float
    unit: str  # a LimitUnit value

    @property
    def overdue(self) -> bool:
        return self.amount < 0

    @property
    def label(self) -> str:
        size = abs(self.amount)
        if self.unit == LimitUnit.OFFICE_MINUTES:
            values = {"minutes": round(size)}
            if self.overdue:
                return _("overdue by %(minutes)s office minutes") % values
            return _("%(minutes)s office minutes left") % values
        days = {"days": f"{size:g}"}
        if self.unit == LimitUnit.CALENDAR_DAYS:
            if self.overdue:
                return _("overdue by %(days)s days") % days
            return _("%(days)s days left") % days
        if self.overdue:
            return _("overdue by %(days)s working days") % days
        return _("%(days)s working days left") % days


def office_time_left(
    case: ItemCase, now: datetime, calendar: WorkCalendar | None = None
) -> OfficeTimeLeft | None:
    """How much of the clock's own time is left before the committed due time (a paused clock
    keeps what it had when it stopped); None without a running clock."""
    if case.committed_due_at is None:
        return None
    reference = case.paused_since if case.state == CaseState.PAUSED and case.paused_since else now
    due = case.committed_due_at
    half_days = 2 * (due - reference).total_seconds() / 86400
    if case.clock_unit == LimitUnit.CALENDAR_DAYS:
        return OfficeTimeLeft(round(half_days) / 2, LimitUnit.CALENDAR_DAYS)
    calendar = calendar or calendar_from_db()
    minutes = (
        calendar.office_minutes_between(reference, due)
        if due >= reference
        else -calendar.office_minutes_between(due, reference)
    )
    if case.clock_unit == LimitUnit.OFFICE_MINUTES:
        return OfficeTimeLeft(minutes, LimitUnit.OFFICE_MINUTES)
    per_day = calendar.minutes_per_day or 1
    return OfficeTimeLeft(round(2 * minutes / per_day) / 2, LimitUnit.WORKING_DAYS)


def read_clock(case: ItemCase, now: datetime) -> ClockReading:
    return ClockReading(clock_colour(case, now), time_left(case, now))
