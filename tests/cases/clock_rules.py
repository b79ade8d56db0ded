"""The rules a case's clock obeys after ANY sequence of pauses, resumptions, statutory mode,
extensions, requests to other departments, calendar edits and sweeps — stated once, each as a
function that raises AssertionError with the facts when the stored clock breaks it.

`tests/cases/test_clock_properties.py` checks them after every step of a random history.
"""

from datetime import datetime

from kuaiban.cases import clocks
from kuaiban.cases.models import OPEN_CASE_STATES, RUNNING_CLOCK_STATES, CaseState, ItemCase

# The moments that make up a clock (what the sweep and the screens read).
DUE_FIELDS = ("committed_due_at", "statutory_due_at", "warn_50_at", "warn_75_at")


def runs_on_statutory_limit(case: ItemCase) -> bool:
    return case.statutory_mode or case.item.statutory_mode


def statutory_mode_keeps_the_statutory_due_time(case: ItemCase) -> None:
    """In statutory mode (switched on for the case, or the item's own rule) the operative
    (committed) due time IS the statutory one — also after an approved extension moved the
    statutory due time, and after pauses moved both."""
    if runs_on_statutory_limit(case) and case.statutory_due_at is not None:
        assert case.committed_due_at == case.statutory_due_at, (
            f"statutory mode, but committed {case.committed_due_at} "
            f"!= statutory {case.statutory_due_at}"
        )


def recomputing_from_scratch_gives_the_live_clock(case: ItemCase) -> None:
    """An open clock planned again from the current calendar, replaying its pauses, statutory
    mode and approved extensions (`clocks.clock_recompute`), has the due times and warnings the
    live sequence of services left on it: a calendar recompute moves a clock only when the
    calendar changed, never because the replay disagrees with what happened."""
    if case.state not in OPEN_CASE_STATES or case.accepted_at is None:
        return
    replay = ItemCase.objects.select_related("item").get(pk=case.pk)
    clocks.clock_recompute(replay)
    live = {f: getattr(case, f) for f in DUE_FIELDS}
    replayed = {f: getattr(replay, f) for f in DUE_FIELDS}
    assert replayed == live, f"replay {replayed} != live {live}"


def warnings_come_before_the_committed_due_time(case: ItemCase) -> None:
    """The 50% warning comes no later than the 75% one, and that no later than the committed
    due time."""
    moments = [case.warn_50_at, case.warn_75_at, case.committed_due_at]
    if case.committed_due_at is None:
        assert moments == [None, None, None], f"warnings without a committed due time: {moments}"
        return
    assert None not in moments, f"a committed due time without its warnings: {moments}"
    assert moments == sorted(moments), f"warn_50, warn_75, committed out of order: {moments}"


def commitment_is_never_later_than_the_law(case: ItemCase) -> None:
    """The committed due time is never after the statutory one (the sweep's index key relies on
    the thresholds coming due in the order of `clocks.THRESHOLDS`)."""
    if case.committed_due_at is not None and case.statutory_due_at is not None:
        assert case.committed_due_at <= case.statutory_due_at, (
            f"committed {case.committed_due_at} after statutory {case.statutory_due_at}"
        )


def a_paused_clock_has_no_next_flag(case: ItemCase) -> None:
    """A paused clock never flags: it has no `next_flag_at`, so the sweep does not see it."""
    if case.state == CaseState.PAUSED:
        assert case.next_flag_at is None, f"paused, but next flag at {case.next_flag_at}"
        assert case.paused_since is not None


def next_flag_is_the_earliest_unfired_threshold(case: ItemCase) -> None:
    """`next_flag_at` is the earliest threshold whose flag has not fired while the clock runs,
    and NULL when it does not run (paused, decided, closed) or nothing is left to fire."""
    if case.state not in RUNNING_CLOCK_STATES:
        assert case.next_flag_at is None, f"{case.state}, but next flag at {case.next_flag_at}"
        return
    unfired = [
        getattr(case, t.at)
        for t in clocks.THRESHOLDS
        if getattr(case, t.fired) is None and getattr(case, t.at) is not None
    ]
    assert case.next_flag_at == min(unfired, default=None), (
        f"next flag at {case.next_flag_at}, earliest unfired threshold {min(unfired, default=None)}"
    )


def a_sweep_leaves_nothing_due_on_a_running_clock(case: ItemCase, now: datetime) -> None:
    """Right after a sweep at `now`, every threshold of a running clock that has passed has its
    flag (and the sweep fired nothing on a paused clock: see `a_paused_clock_has_no_next_flag`)."""
    if case.state not in RUNNING_CLOCK_STATES:
        return
    for t in clocks.THRESHOLDS:
        at = getattr(case, t.at)
        if at is not None and at <= now:
            assert getattr(case, t.fired) is not None, f"{t.kind} due at {at} not fired at {now}"


CLOCK_RULES = (
    statutory_mode_keeps_the_statutory_due_time,
    recomputing_from_scratch_gives_the_live_clock,
    warnings_come_before_the_committed_due_time,
    commitment_is_never_later_than_the_law,
    a_paused_clock_has_no_next_flag,
    next_flag_is_the_earliest_unfired_threshold,
)


def check_clock_rules(case: ItemCase) -> None:
    """Every rule above that holds at any moment (the sweep's own is checked after a sweep)."""
    for rule in CLOCK_RULES:
        rule(case)
