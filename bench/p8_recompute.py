"""P8: the recompute after a calendar edit, at `cases` open item cases.

On the open item cases P3 generated (`devtools.history` with every application open; missing
ones are generated the same way), one working day a week or more ahead becomes a holiday, and
the recompute the deadline engine runs on that edit (`open_clocks_recompute(days=[day])`) is
timed, committed as an administrator's edit is (so the batches run on two connections, as in
the task), then undone and the clocks recomputed back, untimed. Reported: the clocks it read
(those spanning the day), how many moved, seconds, clocks/s, and how many open clocks a full
recompute (the behaviour before: every open clock) would have read.

Call after Django is set up on a benchmark database (bench/run.py's `_setup`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta


def _ensure_cases(cases: int, out: Callable[[str], None], seed: int) -> int:
    from devtools.history import history_generate
    from kuaiban.cases.models import ItemCase

    have = ItemCase.objects.count()
    if have < cases:
        out(f"  generating {cases - have:,} item cases …")
        started = time.perf_counter()
        history_generate(cases=cases - have, open_share=1.0, seed=seed)
        out(f"  generated in {time.perf_counter() - started:,.0f} s")
    return ItemCase.objects.count()


def _working_day_ahead(days: int = 7) -> date:
    from django.utils import timezone

    from kuaiban.workdays.calendar import calendar_from_db

    cal = calendar_from_db()
    day = timezone.localdate() + timedelta(days=days)
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return day


def p8_recompute(
    cases: int = 1_000_000, *, seed: int = 8, out: Callable[[str], None] = print
) -> dict:
    """Recompute after one working day becomes a holiday (see the module docstring)."""
    from django.db import connection

    from kuaiban.workdays.calendar import calendar_cache_invalidate
    from kuaiban.workdays.models import CalendarDay
    from speedup.services.recompute import open_clocks_recompute, open_clocks_to_recompute

    out(f"P8 recompute after a calendar edit, at {cases:,} item cases")
    total = _ensure_cases(cases, out, seed)
    day = _working_day_ahead()
    everything = open_clocks_to_recompute().count()
    spanning = open_clocks_to_recompute(days=[day]).count()
    # An earlier run left its row versions dead in the tables it wrote: cleared so that repeated
    # runs time the same work.
    with connection.cursor() as cursor:
        for table in ("cases_itemcase", "cases_caseevent", "ratings_followup"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    # Committed, as an administrator's edit is: the recompute then runs its batches on two
    # connections, as the task does (`_run_batches`). Undone afterwards, the clocks recomputed
    # back (untimed), so later workloads and runs see the calendar they started with.
    before = CalendarDay.objects.filter(date=day).first()
    try:
        CalendarDay.objects.update_or_create(
            date=day,
            defaults={
                "kind": CalendarDay.Kind.HOLIDAY,
                "name": "bench",
                "source": CalendarDay.Source.ADMIN,
            },
        )
        calendar_cache_invalidate()
        started = time.perf_counter()
        moved = open_clocks_recompute(days=[day])
        seconds = time.perf_counter() - started
    finally:
        if before is None:
            CalendarDay.objects.filter(date=day).delete()
        else:
            before.save()
        calendar_cache_invalidate()
        out("  undoing the edit (recomputing the clocks back, untimed) …")
        open_clocks_recompute(days=[day])
    figures = {
        "cases": total,
        "day": day,
        "open": everything,
        "touched": spanning,
        "moved": moved,
        "seconds": seconds,
        "per_s": spanning / seconds if seconds else 0.0,
    }
    out(
        f"  {day} made a holiday: {spanning:,} clocks span it and were recomputed, {moved:,} "
        f"moved, in {seconds:,.2f} s = {figures['per_s']:,.0f} clocks/s"
    )
    out(
        f"  a full recompute would have read all {everything:,} open clocks "
        f"({spanning / everything if everything else 0:.1%} read)"
    )
    return figures
