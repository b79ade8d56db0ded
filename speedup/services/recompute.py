"""After a calendar change: recompute the open clocks from the current calendar, replaying
each case's pauses, statutory mode and approved extensions; every moved due time is explained
on the case and in the event log.

Only the clocks a change can move are read: when some days changed, the open clocks whose span
includes one of them (received before the end of the last edited day, and with a due time, an
original due time or a pause ending on or after the first edited day, or a pause still open). A
day outside that span enters none of the clock's arithmetic: it is planned forward from receipt
and acceptance to its due times, and each pause is measured between its own ends. Whole years
loaded move only the provisional clocks; anything else (office hours, an administrator's
request) recomputes every open clock.

Per batch, whatever its size: one query locks the cases (their items come from the catalog
tables), two or three read the pauses, the extensions and the statutory-mode events of the
cases in that mode (`clocks.clock_histories`), and the moved cases, the provisional marks and
the events are written in bulk; no query per case. Run from a task (nothing uncommitted), the
batches go on `KUAIBAN_BATCH_CONNECTIONS` connections at once (2; `_run_batches`).
"""

import queue
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kuaiban.bulk_update import values_update
from kuaiban.campaigns.services import task_clocks_recompute
from kuaiban.cases import clocks
from kuaiban.cases.events import record_system_events
from kuaiban.cases.models import OPEN_CASE_STATES, CasePause, EventAction, ItemCase
from kuaiban.catalog import tables as catalog_tables
from kuaiban.commitments.services import check_clocks_recompute
from kuaiban.id_lists import ids_in
from kuaiban.parallel import batch_connections, fan_out_possible, on_connections
from kuaiban.ratings.followups import followup_clocks_recompute
from kuaiban.workdays.calendar import calendar_from_db

from ..models import ClockRecompute

# A recompute claimed this long ago and not finished died with its worker: claimed again.
STALE_CLAIM = timedelta(hours=1)


def recompute_request(
    *, provisional_only: bool = False, days: Iterable[date] = ()
) -> ClockRecompute:
    """Owe a recompute (after a calendar change): a row that the queued task, or else the next
    deadline sweep, runs. Committed at once (called after the edit's commit). `days`: the edited
    days (only the clocks spanning them), or none for every clock."""
    return ClockRecompute.objects.create(
        provisional_only=provisional_only, days=[day.isoformat() for day in sorted(days)]
    )


def recomputes_run_pending(*, now: datetime | None = None) -> int:
    """Run every owed recompute once: the pending rows are claimed together under skipped row
    locks (a worker and the sweep never both run one) and covered together: every clock when one
    of them asked for every clock, else the clocks spanning their edited days and the provisional
    ones they asked for. Returns how many due times moved."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = list(
            ClockRecompute.objects.select_for_update(skip_locked=True)
            .filter(finished_at__isnull=True)
            .filter(Q(started_at__isnull=True) | Q(started_at__lt=now - STALE_CLAIM))
        )
        if not pending:
            return 0
        ids = [row.pk for row in pending]
        ClockRecompute.objects.filter(pk__in=ids).update(started_at=now)
    moved = _run_owed(pending)
    ClockRecompute.objects.filter(pk__in=ids).update(finished_at=timezone.now(), moved=moved)
    return moved


def _run_owed(pending: list[ClockRecompute]) -> int:
    if any(not row.provisional_only and not row.days for row in pending):
        return open_clocks_recompute()
    moved = 0
    days = {date.fromisoformat(day) for row in pending for day in row.days}
    if days:
        moved += open_clocks_recompute(days=days)
    if any(row.provisional_only for row in pending):
        moved += open_clocks_recompute(provisional_only=True)
    return moved


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def clocks_spanning_q(days: Iterable[date]) -> Q:
    """Q over ItemCase: clocks whose span includes a day between the first and the last of
    `days` (received before the end of the last one; due, originally due, or paused until on or
    after the first one, or paused still)."""
    days = sorted(days)
    start, end = _day_start(days[0]), _day_start(days[-1] + timedelta(days=1))
    pauses = CasePause.objects.filter(item_case=OuterRef("pk")).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=start)
    )
    return Q(received_at__lt=end) & (
        Q(committed_due_at__gte=start)
        | Q(statutory_due_at__gte=start)
        | Q(original_committed_due_at__gte=start)
        | Q(original_statutory_due_at__gte=start)
        | Q(Exists(pauses))
    )


def open_clocks_to_recompute(*, provisional_only: bool = False, days: Iterable[date] = ()):
    """The open clocks a calendar change can move (all of them without `days`)."""
    open_cases = ItemCase.objects.filter(state__in=OPEN_CASE_STATES, accepted_at__isnull=False)
    if provisional_only:
        open_cases = open_cases.filter(due_provisional=True)
    days = list(days)
    if days:
        open_cases = open_cases.filter(clocks_spanning_q(days))
    return open_cases


def open_clocks_recompute(
    *, provisional_only: bool = False, days: Iterable[date] = (), batch: int = 500
) -> int:
    """After a calendar change: recompute the open clocks it can move (every open clock without
    `days`), provisional ones first; each moved due time is explained on the case and in the
    event log. Returns how many moved."""
    days = list(days)
    # By application: a bundle's cases (due together) fall in one batch, not in two batches
    # running at once that would wait on each other's lock of the application's chain.
    ids = list(
        open_clocks_to_recompute(provisional_only=provisional_only, days=days)
        .order_by("-due_provisional", "application_id")
        .values_list("pk", flat=True)
    )
    cal = calendar_from_db()  # one calendar for the whole run
    moved = _run_batches([ids[start : start + batch] for start in range(0, len(ids), batch)], cal)
    # The follow-ups' clocks (好差评), the commitments' verifications and the campaign's
    # filings count the same working days.
    followup_clocks_recompute(days=days)
    check_clocks_recompute(days=days)
    task_clocks_recompute(days=days)
    return moved


def _run_batches(batches: list[list[int]], cal) -> int:
    """Run the batches, each in its own transaction; on PostgreSQL, when the caller's work is
    committed (no transaction open), on `batch_connections()` connections at once: while one
    thread waits for the database, another plans its clocks (the database call releases the
    GIL). Inside a transaction the batches run here, one after the other: other connections
    would not see its uncommitted work (the calendar edit a caller may still hold)."""
    workers = min(batch_connections(), len(batches))
    if workers < 2 or not fan_out_possible():
        return sum(_recompute_batch(ids, cal) for ids in batches)
    pending: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
    for ids in batches:
        pending.put(ids)

    def work(_index: int) -> int:
        moved = 0
        while True:
            try:
                ids = pending.get_nowait()
            except queue.Empty:
                return moved
            moved += _recompute_batch(ids, cal)

    return sum(on_connections(work, workers, name="recompute"))


def _recompute_batch(ids: list[int], cal) -> int:
    with transaction.atomic():
        cases = list(ItemCase.objects.select_for_update().filter(ids_in("pk", ids)))
        histories = clocks.clock_histories(cases)
        items = catalog_tables.items_by_id()  # the items' time limits, not a join
        for case in cases:
            case.item = items[case.item_id]
        moved, marked, events = [], [], []
        for case in cases:
            provisional = case.due_provisional
            note = clocks.clock_recompute(case, cal, histories[case.pk])
            if note is None:
                if case.due_provisional != provisional:
                    marked.append(case)
                continue
            clocks.refresh_next_flag(case)
            moved.append(case)
            events.append((case.application_id, case.pk, note))
        values_update(ItemCase, moved, clocks.RECOMPUTED_FIELDS)
        values_update(ItemCase, marked, ("due_provisional",))
        # In application order: each event locks its application's chain (see `audit.py`), so
        # two batches running at once take the locks in the same order and never deadlock.
        events.sort(key=lambda row: row[0])
        record_system_events(EventAction.RECOMPUTE, events, at=timezone.now())
    return len(moved)
