"""The daily rollup of item-case figures (`DailyCaseRollup`), rebuilt from the case tables.

Why a rollup: the dashboard sums rollup rows instead of grouping a million item cases, so it
answers in tens of milliseconds whatever the history (quality.md P2). Counts are additive over
days and over the filter dimensions, so any period and any filter combination is a plain `SUM`
over the rollup. Medians and percentiles are not additive: each row keeps the handling times of
its cases decided that day (a JSON list), and the dashboard takes the exact percentiles over the
rows of the period (`selectors.dashboard.handling_times`). Visits per application are kept
three ways (per application, per application and unit, per case) so a unit or item filter never
counts an application twice. The whole dashboard is also cached for a few minutes
(`page_cache`).

How a day is rebuilt: for each *anchor* (see `figures`), one `GROUP BY day, unit, item, bundle,
window, hall, district` query over exactly the querysets the drill-down lists; the rows are
merged, the old rows of those days deleted and the new ones inserted (COPY), in one
transaction holding the `RollupState` row lock, so two refreshes at once give the rows of one.

What a refresh rebuilds (Celery beat `refresh-rollups`, every few minutes, or
`manage.py refresh_rollups`):

- the last `days` days (today and yesterday by default);
- every day a recent change could have moved: the services write an event for every change,
  so the applications with events newer than the refresh before the last one are the ones
  whose figures may have changed (reading two refreshes back covers a transaction that
  committed while the last refresh ran, with an event id below the highest it saw); all the
  anchor days of their cases are rebuilt. This catches, say, a pause today on a case accepted
  three weeks ago (paused is counted by acceptance day) or an acceptance today of an
  application received last month (the received count moves to the hall that accepted it);
- everything (`--all`, or the first refresh): after a bulk import such as `generate_history`,
  which writes rows without going through the services.

The page shows when the rollup was last refreshed; figures of the current day can be that old.
"""

from __future__ import annotations

import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Aggregate, Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from kuaiban.cases.models import CaseEvent, EventAction, ItemCase
from kuaiban.pgcopy import copy_instances

from .figures import ANCHORS, DIMENSIONS, FIELD_ANCHORS, FIGURES, anchored, day_spans
from .models import ROLLUP_COUNTS, ROLLUP_LISTS, ROLLUP_SUMS, DailyCaseRollup, RollupState

ROLLUP_NAME = "daily_case"
RECENT_DAYS = 2
# More touched applications than this (a bulk import): rebuild everything instead.
DIRTY_APPLICATION_LIMIT = 20_000
_SUMS = {"handling_minutes_sum": "handling_minutes", "handling_days_sum": "handling_days"}


@dataclass
class RefreshResult:
    full: bool
    days: int
    rows: int
    seconds: float


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def day_runs(days) -> list[tuple[date, date]]:
    """Sorted days → inclusive runs of consecutive days."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _aggregates(anchor: str) -> dict[str, Aggregate]:
    aggregates: dict[str, Aggregate] = {
        f.key: Count("pk", filter=f.condition or None)
        for f in FIGURES.values()
        if f.anchor == anchor
    }
    if anchor == "decided":
        aggregates.update({name: Sum(column) for name, column in _SUMS.items()})
    return aggregates


def _add_visits(merged: dict, grouped, dims) -> None:
    """Visits of the applications concluded that day, counted once per application (on its
    first case), once per application and unit (on its first case in the unit) and once per
    case, so a unit or item filter never counts an application twice. The cases come in id
    order, so the first one seen of an application (of a unit) is its first case."""
    seen_apps: set[int] = set()
    seen_units: set[tuple[int, int]] = set()
    rows = grouped.values_list(
        "rollup_day",
        *dims,
        "application_id",
        "unit_id",
        "application__visits",
    ).order_by("pk")
    for *key, application_id, unit_id, visits in rows.iterator(chunk_size=10_000):
        counts = merged.setdefault(tuple(key), {})
        scopes = ["case_apps"]
        if application_id not in seen_apps:
            seen_apps.add(application_id)
            scopes.append("apps")
        if (application_id, unit_id) not in seen_units:
            seen_units.add((application_id, unit_id))
            scopes.append("unit_apps")
        for scope in scopes:
            counts[f"{scope}_concluded"] = counts.get(f"{scope}_concluded", 0) + 1
            counts[f"{scope}_visits"] = counts.get(f"{scope}_visits", 0) + visits
            if visits > 1:
                counts[f"{scope}_multi_visit"] = counts.get(f"{scope}_multi_visit", 0) + 1


def _add_handling(merged: dict, grouped, dims) -> None:
    """Every handling time of the cases decided that day, for exact percentiles."""
    rows = grouped.values_list("rollup_day", *dims, "handling_minutes", "handling_days").order_by()
    for *key, minutes, days in rows.iterator(chunk_size=10_000):
        counts = merged.setdefault(tuple(key), {})
        if minutes is not None:
            counts.setdefault("handling_minutes_values", []).append(minutes)
        if days is not None:
            counts.setdefault("handling_days_values", []).append(days)


def rollup_rows(runs: list[tuple[date, date]]) -> list[DailyCaseRollup]:
    """The rollup rows of these days, computed from the case tables (nothing is written)."""
    if not runs:
        return []
    spans = day_spans(runs)
    dims = {f"dim_{name}": expression for name, expression in DIMENSIONS.items()}
    merged: dict[tuple, dict] = {}
    for anchor in ANCHORS:
        grouped = (
            anchored(anchor, spans)
            .annotate(rollup_day=TruncDate("anchor_at"), **dims)
            .values("rollup_day", *dims)
        )
        if anchor == "app_concluded":
            _add_visits(merged, grouped, dims)
            continue
        aggregates = _aggregates(anchor)
        for row in grouped.annotate(**aggregates).order_by():
            key = (row["rollup_day"], *(row[name] for name in dims))
            counts = merged.setdefault(key, {})
            for name in aggregates:
                counts[name] = counts.get(name, 0) + (row[name] or 0)
        if anchor == "decided":
            _add_handling(merged, grouped, dims)
    fields = ("day", *(f"{name}_id" for name in DIMENSIONS))
    wanted = (*ROLLUP_COUNTS, *ROLLUP_SUMS, *ROLLUP_LISTS)
    # In day order: a period's rows then sit together on disk, and read from fewer pages.
    return [
        DailyCaseRollup(**dict(zip(fields, key, strict=True)), **merged[key])
        for key in sorted(merged, key=lambda k: (k[0], *(-1 if v is None else v for v in k[1:])))
        if any(merged[key].get(name) for name in wanted)
    ]


def _insert(rows: list[DailyCaseRollup]) -> None:
    """Write the rows: COPY on PostgreSQL (a full rebuild writes half a million), else
    `bulk_create`."""
    if connection.vendor != "postgresql":
        DailyCaseRollup.objects.bulk_create(rows, batch_size=2000)
        return
    copy_instances(DailyCaseRollup, rows)


def _runs_q(runs) -> Q:
    q = Q()
    for first, last in runs:
        q |= Q(day__gte=first, day__lte=last)
    return q


def _locked_state() -> RollupState:
    RollupState.objects.get_or_create(name=ROLLUP_NAME)
    return RollupState.objects.select_for_update().get(name=ROLLUP_NAME)


def _dirty_days(since_event_id: int) -> set[date] | None:
    """The anchor days of every case of the applications with events after `since_event_id`;
    None when there are too many to be worth it (rebuild everything)."""
    touched = list(
        CaseEvent.objects.filter(pk__gt=since_event_id)
        .order_by()
        .values_list("application_id", flat=True)
        .distinct()[: DIRTY_APPLICATION_LIMIT + 1]
    )
    if len(touched) > DIRTY_APPLICATION_LIMIT:
        return None
    if not touched:
        return set()
    days: set[date] = set()
    for moments in ItemCase.objects.filter(application_id__in=touched).values_list(
        *FIELD_ANCHORS.values()
    ):
        days.update(_local_day(m) for m in moments if m is not None)
    for (moment,) in CaseEvent.objects.filter(
        application_id__in=touched, action__in=(EventAction.RETURN, EventAction.REFUSE)
    ).values_list("at"):
        days.add(_local_day(moment))
    return days


def rollup_refresh(*, days: int = RECENT_DAYS, full: bool = False, now=None) -> RefreshResult:
    """Rebuild the recent days and every day touched since the last refresh (or everything)."""
    began = time_module.perf_counter()
    now = now or timezone.now()
    today = _local_day(now)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Many small grouped scans: compiling them (JIT) costs more than running them.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        state = _locked_state()
        seen = CaseEvent.objects.aggregate(m=Max("pk"))["m"] or 0
        dirty = None
        if not full and state.last_event_id is not None:
            since = state.previous_event_id
            dirty = _dirty_days(state.last_event_id if since is None else since)
        if dirty is None:
            full = True
            first = ItemCase.objects.aggregate(m=Min("created_at"))["m"]
            runs = [(min(_local_day(first), today), today)] if first else []
            DailyCaseRollup.objects.all().delete()
        else:
            recent = {today - timedelta(days=k) for k in range(max(days, 0))}
            runs = day_runs(dirty | recent)
            if runs:
                DailyCaseRollup.objects.filter(_runs_q(runs)).delete()
        rows = rollup_rows(runs)
        _insert(rows)
        state.refreshed_at = now
        if full:
            state.full_rebuild_at = now
        state.first_day = runs[0][0] if runs else None
        state.last_day = runs[-1][1] if runs else None
        state.days_refreshed = sum((last - first).days + 1 for first, last in runs)
        state.rows_written = len(rows)
        state.previous_event_id = seen if full else state.last_event_id
        state.last_event_id = seen
        state.seconds = time_module.perf_counter() - began
        state.save()
    if full and connection.vendor == "postgresql":
        # A full rebuild replaced every row: reclaim the old ones and refresh the statistics
        # now rather than when autovacuum gets to it (VACUUM cannot run inside a transaction).
        table = connection.ops.quote_name(DailyCaseRollup._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {table}"
            )
    return RefreshResult(
        full=full, days=state.days_refreshed, rows=len(rows), seconds=state.seconds
    )


def rollup_state() -> RollupState | None:
    return RollupState.objects.filter(name=ROLLUP_NAME).first()
