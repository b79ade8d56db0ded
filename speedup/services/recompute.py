"""After a calendar change: recompute the open clocks from the current calendar, replaying
each case's pauses, statutory mode and approved extensions; every moved due time is explained
on the case and in the event log."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kuaiban.cases import clocks
from kuaiban.cases.events import record_event
from kuaiban.cases.models import OPEN_CASE_STATES, EventAction, ItemCase

from ..models import ClockRecompute

# A recompute claimed this long ago and not finished died with its worker: claimed again.
STALE_CLAIM = timedelta(hours=1)


def recompute_request(*, provisional_only: bool = False) -> ClockRecompute:
    """Owe a recompute (after a calendar change): a row that the queued task, or else the next
    deadline sweep, runs. Committed at once (called after the edit's commit)."""
    return ClockRecompute.objects.create(provisional_only=provisional_only)


def recomputes_run_pending(*, now: datetime | None = None) -> int:
    """Run every owed recompute once: the pending rows are claimed together under skipped row
    locks (a worker and the sweep never both run one), one recompute covers them all (every
    clock unless they all asked for provisional ones only). Returns how many due times moved."""
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
    moved = open_clocks_recompute(provisional_only=all(row.provisional_only for row in pending))
    ClockRecompute.objects.filter(pk__in=ids).update(finished_at=timezone.now(), moved=moved)
    return moved


def open_clocks_recompute(*, provisional_only: bool = False, batch: int = 500) -> int:
    """After a calendar change: recompute every open clock, provisional ones first; each moved
    due time is explained on the case and in the event log. Returns how many moved."""
    open_cases = ItemCase.objects.filter(state__in=OPEN_CASE_STATES, accepted_at__isnull=False)
    if provisional_only:
        open_cases = open_cases.filter(due_provisional=True)
    ids = list(
        open_cases.order_by("-due_provisional", "committed_due_at").values_list("pk", flat=True)
    )
    moved = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            for case in (
                ItemCase.objects.select_for_update()
                .select_related("item", "application")
                .filter(pk__in=ids[start : start + batch])
            ):
                note = clocks.clock_recompute(case)
                if note is None:
                    case.save(update_fields=["due_provisional"])
                    continue
                clocks.refresh_next_flag(case)
                case.save()
                record_event(
                    application=case.application,
                    item_case=case,
                    action=EventAction.RECOMPUTE,
                    reason=note,
                )
                moved += 1
    return moved
