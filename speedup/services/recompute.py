"""After a calendar change: recompute the open clocks from the current calendar, replaying
each case's pauses, statutory mode and approved extensions; every moved due time is explained
on the case and in the event log."""

from django.db import transaction

from kuaiban.cases import clocks
from kuaiban.cases.events import record_event
from kuaiban.cases.models import OPEN_CASE_STATES, EventAction, ItemCase


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
