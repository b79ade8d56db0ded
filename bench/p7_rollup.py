"""P7: the rollup's routine refresh after K changed cases, against a full rebuild.

On `cases` item cases (generated with `devtools.history` as P3 does; what is already in the
database is kept and counted): a full rebuild of `DailyCaseRollup` (timed once, it is the
baseline), then for each K a routine refresh (`rollup_refresh()`, what beat runs every few
minutes) after K random item cases changed, in a transaction rolled back afterwards. A change
is what a service does to a case, done here in bulk SQL: the case switches statutory mode (a
figure counted on its acceptance day, often weeks back) and an event is written for it. Also
timed, for comparison: rebuilding the last two whole days (the routine refresh before it
followed the changed cases). Reported: milliseconds (median of `repeat`), the (day, item)
groups rebuilt, and the ratio to the full rebuild.

Call after Django is set up on a benchmark database (bench/run.py's `_setup`).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable


class _Rollback(Exception):
    """Raised to undo a measured change (the event log refuses DELETE, not a rollback)."""


def ensure_cases(cases: int, out: Callable[[str], None], *, seed: int, open_share: float) -> int:
    """Generate the item cases missing to reach `cases`; returns how many there are."""
    from devtools.history import history_generate
    from kuaiban.cases.models import ItemCase

    have = ItemCase.objects.count()
    if have < cases:
        out(f"  generating {cases - have:,} item cases …")
        started = time.perf_counter()
        history_generate(cases=cases - have, open_share=open_share, seed=seed)
        out(f"  generated in {time.perf_counter() - started:,.0f} s")
    return ItemCase.objects.count()


def _change(ids: list[int]) -> None:
    """What a service does to each case, in bulk: switch statutory mode, write the event."""
    from django.db import connection
    from django.utils import timezone

    from kuaiban.cases.models import CaseEvent, EventAction, ItemCase

    case_table = ItemCase._meta.db_table
    event_table = CaseEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {case_table} SET statutory_mode = NOT statutory_mode "  # noqa: S608
            "WHERE id = ANY(%s)",
            [ids],
        )
        cursor.execute(
            f"INSERT INTO {event_table} (application_id, item_case_id, action, from_state, "  # noqa: S608
            "to_state, actor_id, at, reason, request_id, data) "
            f"SELECT application_id, id, %s, '', '', NULL, %s, 'bench', '', '{{}}'::jsonb "
            f"FROM {case_table} WHERE id = ANY(%s)",
            [EventAction.STATUTORY_MODE, timezone.now(), ids],
        )


def _routine_after(ids: list[int]) -> tuple[float, object]:
    """Change the cases, time one routine refresh, roll everything back."""
    from django.db import transaction

    from acceptance.rollups import rollup_refresh

    outcome: dict = {}
    try:
        with transaction.atomic():
            _change(ids)
            started = time.perf_counter()
            outcome["result"] = rollup_refresh()
            outcome["seconds"] = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return outcome["seconds"], outcome["result"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def p7_rollup(
    cases: int = 1_000_000,
    *,
    changes: tuple[int, ...] = (100, 1000),
    repeat: int = 3,
    seed: int = 7,
    out: Callable[[str], None] = print,
) -> dict:
    """Routine refresh after K changed cases vs a full rebuild (see the module docstring)."""
    from django.db import transaction

    from acceptance.rollups import rollup_refresh
    from kuaiban.cases.models import ItemCase

    out(f"P7 rollup refresh after K changed cases, at {cases:,} item cases, medians of {repeat}")
    total = ensure_cases(cases, out, seed=seed, open_share=1.0)
    started = time.perf_counter()
    full = rollup_refresh(full=True)
    full_s = time.perf_counter() - started
    out(
        f"  full rebuild: {full_s:,.2f} s, {full.days:,} days, {full.rows:,} rows ({total:,} cases)"
    )
    figures: dict = {"cases": total, "full_s": full_s, "changes": []}

    def two_days():
        try:
            with transaction.atomic():
                result = rollup_refresh(days=2)
                raise _Rollback(result)
        except _Rollback as undone:
            return undone.args[0]

    two_s = statistics.median(_timed(two_days) for _ in range(repeat))
    figures["two_days_s"] = two_s
    out(
        f"  two whole days rebuilt (the former routine refresh): {_ms(two_s)} "
        f"= {two_s / full_s:.3f} of the full rebuild"
    )
    accepted = list(ItemCase.objects.filter(accepted_at__isnull=False).values_list("pk", flat=True))
    rng = random.Random(seed)  # noqa: S311 - benchmark inputs
    for k in changes:
        k = min(k, len(accepted))
        times, result = [], None
        for _ in range(repeat):
            seconds, result = _routine_after(rng.sample(accepted, k))
            times.append(seconds)
        seconds = statistics.median(times)
        figures["changes"].append(
            {"k": k, "seconds": seconds, "groups": result.groups, "rows": result.rows}
        )
        out(
            f"  routine refresh after {k:,} changed cases: {_ms(seconds)}, {result.groups:,} "
            f"(day, item) groups, {result.rows:,} rows; ratio to the full rebuild "
            f"{seconds / full_s:.4f}"
        )
    return figures


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
