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

How rows are rebuilt: for each *anchor* (see `figures`), one `GROUP BY day, unit, item,
bundle, window, hall, district` query over exactly the querysets the drill-down lists (the visit
counts too: "the application's first case" is a NOT EXISTS, so any subset of groups can be
counted alone); the rows are merged, the old rows deleted and the new ones inserted (COPY), in
one transaction holding the `RollupState` row lock, so two refreshes at once give the rows of
one. Handling-time lists are kept in value order, so a row is the same however it was built.

What a refresh rebuilds (Celery beat `refresh-rollups`, every few minutes, or
`manage.py refresh_rollups`):

- the (day, item) *groups* a recent change could have moved, and nothing else: the services
  write an event for every change, so the applications with events newer than the refresh
  before the last one are the ones whose figures may have changed (reading two refreshes back
  covers a transaction that committed while the last refresh ran, with an event id below the
  highest it saw). For each of their cases, every anchor day of the case (and the days of the
  application's returns and refusal) with the case's item is a group; its rows (all halls,
  bundles, windows and districts of that day and item, since acceptance can move a received
  count to another hall) are deleted and recomputed from the cases anchored on that day with
  that item. This catches, say, a pause today on a case accepted three weeks ago (paused is
  counted by acceptance day) or an acceptance today of an application received last month.
  The work follows the changed cases, not the size of the history or of a day;
- the last `days` days whole (none by default; `refresh_rollups --days N`);
- everything (`--all`, or the first refresh): after a bulk import such as `generate_history`,
  which writes rows without going through the services, or when more than
  `DIRTY_APPLICATION_LIMIT` applications changed.

The page shows when the rollup was last refreshed; figures of the current day can be that old.
"""

from __future__ import annotations

import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Aggregate, Count, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from kuaiban.cases.models import CaseEvent, EventAction, ItemCase
from kuaiban.cases.visits import within_target_q
from kuaiban.catalog.models import VisitTarget
from kuaiban.pgcopy import copy_instances

from .figures import (
    ANCHORS,
    DIMENSIONS,
    FIELD_ANCHORS,
    FIGURES,
    anchored,
    day_runs,
    day_spans,
    runs_q,
)
from .models import ROLLUP_COUNTS, ROLLUP_LISTS, ROLLUP_SUMS, DailyCaseRollup, RollupState
from .rating_rollup import rating_rollup_refresh

ROLLUP_NAME = "daily_case"
RECENT_DAYS = 0
# More touched applications than this (a bulk import): rebuild everything instead.
DIRTY_APPLICATION_LIMIT = 20_000
_SUMS = {"handling_minutes_sum": "handling_minutes", "handling_days_sum": "handling_days"}


@dataclass
class RefreshResult:
    full: bool
    days: int
    rows: int
    seconds: float
    groups: int = 0  # (day, item) groups rebuilt outside the whole days
    rating_rows: int = 0  # rows of the rating rollup (`rating_rollup`) written


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _aggregates(anchor: str) -> dict[str, Aggregate]:
    if anchor == "app_concluded":
        return _visit_aggregates()
    aggregates: dict[str, Aggregate] = {
        f.key: Count("pk", filter=f.condition or None)
        for f in FIGURES.values()
        if f.anchor == anchor
    }
    if anchor == "decided":
        aggregates.update({name: Sum(column) for name, column in _SUMS.items()})
    return aggregates


def _visit_aggregates() -> dict[str, Aggregate]:
    """Visits of the applications concluded that day, counted once per application (on its
    first case), once per application and unit (on its first case in the unit) and once per
    case, so a unit or item filter never counts an application twice. "First" is the lowest id
    among the application's cases (all of them share the application's conclusion day), asked
    of each case by a NOT EXISTS: the count of a group needs no other group's cases."""
    earlier = ItemCase.objects.filter(application=OuterRef("application"), pk__lt=OuterRef("pk"))
    scopes: dict[str, Q] = {
        "case_apps": Q(),
        "apps": Q(~Exists(earlier)),
        "unit_apps": Q(~Exists(earlier.filter(unit=OuterRef("unit")))),
    }
    aggregates: dict[str, Aggregate] = {}
    for scope, first in scopes.items():
        aggregates[f"{scope}_concluded"] = Count("pk", filter=first or None)
        aggregates[f"{scope}_visits"] = Sum("application__visits", filter=first or None)
        aggregates[f"{scope}_multi_visit"] = Count(
            "pk", filter=first & Q(application__visits__gt=1)
        )
        aggregates[f"{scope}_within_target"] = Count(
            "pk", filter=first & within_target_q("application__")
        )
        aggregates[f"{scope}_no_visit_promised"] = Count(
            "pk", filter=first & Q(application__visit_target=VisitTarget.NONE)
        )
        aggregates[f"{scope}_no_visit_kept"] = Count(
            "pk",
            filter=first & Q(application__visit_target=VisitTarget.NONE, application__visits=0),
        )
    return aggregates


def _add_handling(merged: dict, grouped, dims) -> None:
    """Every handling time of the cases decided that day, for exact percentiles."""
    rows = grouped.values_list("rollup_day", *dims, "handling_minutes", "handling_days").order_by()
    for *key, minutes, days in rows.iterator(chunk_size=10_000):
        counts = merged.setdefault(tuple(key), {})
        if minutes is not None:
            counts.setdefault("handling_minutes_values", []).append(minutes)
        if days is not None:
            counts.setdefault("handling_days_values", []).append(days)


DayItems = dict[date, set[int]]


def _day_items_q(day_items: DayItems) -> Q:
    """Q over the anchored cases: anchor moment on one of the days and item among that day's."""
    q = Q()
    for day, items in day_items.items():
        ((start, end),) = day_spans([(day, day)])
        q |= Q(anchor_at__gte=start, anchor_at__lt=end, item_id__in=sorted(items))
    return q


def rollup_rows(
    runs: list[tuple[date, date]], day_items: DayItems | None = None
) -> list[DailyCaseRollup]:
    """The rollup rows of these days, computed from the case tables (nothing is written).

    With `day_items` ({day: item ids}), only the rows of those (day, item) groups, whatever
    their other dimensions: each anchor's query reads only the cases anchored on such a day
    with such an item, so the work follows the groups asked for, not the days (`runs` is then
    ignored)."""
    if day_items is not None:
        day_items = {day: items for day, items in day_items.items() if items}
        runs = day_runs(day_items)
    if not runs:
        return []
    spans = day_spans(runs)
    dims = {f"dim_{name}": expression for name, expression in DIMENSIONS.items()}
    merged: dict[tuple, dict] = {}
    for anchor in ANCHORS:
        cases = anchored(anchor, spans)
        if day_items is not None:
            cases = cases.filter(_day_items_q(day_items))
        grouped = cases.annotate(rollup_day=TruncDate("anchor_at"), **dims).values(
            "rollup_day", *dims
        )
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
    for counts in merged.values():
        for name in ROLLUP_LISTS:  # in value order: the same list whatever order rows came in
            if name in counts:
                counts[name].sort()
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


def _locked_state() -> RollupState:
    RollupState.objects.get_or_create(name=ROLLUP_NAME)
    return RollupState.objects.select_for_update().get(name=ROLLUP_NAME)


def _touched_groups(since_event_id: int) -> DayItems | None:
    """The (day, item) groups a change since `since_event_id` may have moved: for every case of
    the applications with newer events, each anchor day of the case with the case's item (the
    returns and the refusal of the application with each of its items). A group is a day and an
    item whatever the hall, bundle, window or district: acceptance can move a case's received
    count to another hall, and the old row must be rebuilt too. None when too many applications
    changed to be worth it (rebuild everything)."""
    touched = list(
        CaseEvent.objects.filter(pk__gt=since_event_id)
        .order_by()
        .values_list("application_id", flat=True)
        .distinct()[: DIRTY_APPLICATION_LIMIT + 1]
    )
    if len(touched) > DIRTY_APPLICATION_LIMIT:
        return None
    groups: DayItems = {}
    if not touched:
        return groups
    items_of: dict[int, set[int]] = {}
    for application_id, item_id, *moments in ItemCase.objects.filter(
        application_id__in=touched
    ).values_list("application_id", "item_id", *FIELD_ANCHORS.values()):
        items_of.setdefault(application_id, set()).add(item_id)
        for moment in moments:
            if moment is not None:
                groups.setdefault(_local_day(moment), set()).add(item_id)
    for application_id, moment in CaseEvent.objects.filter(
        application_id__in=touched, action__in=(EventAction.RETURN, EventAction.REFUSE)
    ).values_list("application_id", "at"):
        groups.setdefault(_local_day(moment), set()).update(items_of.get(application_id, ()))
    return groups


def _groups_q(groups: DayItems) -> Q:
    q = Q()
    for day, items in groups.items():
        q |= Q(day=day, item_id__in=sorted(items))
    return q


def rollup_refresh(*, days: int = RECENT_DAYS, full: bool = False, now=None) -> RefreshResult:
    """Rebuild the (day, item) groups touched since the last refresh and the last `days` days
    whole (or everything)."""
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
        groups = None
        if not full and state.last_event_id is not None:
            since = state.previous_event_id
            groups = _touched_groups(state.last_event_id if since is None else since)
        if groups is None:
            full = True
            groups = {}
            first = ItemCase.objects.aggregate(m=Min("created_at"))["m"]
            runs = [(min(_local_day(first), today), today)] if first else []
            DailyCaseRollup.objects.all().delete()
        else:
            recent = {today - timedelta(days=k) for k in range(max(days, 0))}
            runs = day_runs(recent)
            groups = {day: items for day, items in groups.items() if day not in recent}
            if runs:
                DailyCaseRollup.objects.filter(runs_q(runs)).delete()
            if groups:
                DailyCaseRollup.objects.filter(_groups_q(groups)).delete()
        rows = rollup_rows(runs)
        if groups:
            rows += rollup_rows([], groups)
        _insert(rows)
        refreshed = sorted(recent_days(runs) | set(groups))
        state.refreshed_at = now
        if full:
            state.full_rebuild_at = now
        state.first_day = refreshed[0] if refreshed else None
        state.last_day = refreshed[-1] if refreshed else None
        state.days_refreshed = len(refreshed)
        state.rows_written = len(rows)
        state.previous_event_id = seen if full else state.last_event_id
        state.last_event_id = seen
        # The 好差评 figures on the same refresh, so a page's cache key (this refresh's time)
        # covers both rollups.
        rating_rows = rating_rollup_refresh(days=days, full=full, now=now)
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
        full=full,
        days=state.days_refreshed,
        rows=len(rows),
        rating_rows=rating_rows,
        seconds=state.seconds,
        groups=sum(len(items) for items in groups.values()),
    )


def recent_days(runs: list[tuple[date, date]]) -> set[date]:
    """Every day of the inclusive runs."""
    return {
        first + timedelta(days=k) for first, last in runs for k in range((last - first).days + 1)
    }


def rollup_state() -> RollupState | None:
    return RollupState.objects.filter(name=ROLLUP_NAME).first()
