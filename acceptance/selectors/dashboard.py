"""Reads for the supervision dashboard: every figure for a period and filters, the table per
unit, the trend, the visits and the handling times.

It reads only the daily rollups (`acceptance.rollups`): one grouped scan for the figures, the
unit table, the trend and the visits, one small query for the week-over-week figures, one
for the exact median and 90th percentile of the handling times kept in the rollup rows, and
one over the rating rollup for the 好差评 figures (`satisfaction`). It
computes and returns; keeping a computed dashboard in the cache is `acceptance.page_cache`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from kuaiban.catalog.models import ServiceItem, Unit
from kuaiban.stats import percentile
from kuaiban.workdays.units import LimitUnit

from ..figures import FIGURES, rollup_filter_q
from ..models import DASHBOARD_FIGURES, DailyCaseRollup
from ..rollups import rollup_state
from .common import Period, filters_cleaned, rollup_sum
from .satisfaction import Satisfaction, UnitSatisfaction, satisfaction
from .visits import VISIT_COUNTS, Visits, visit_scope

MORE_IS_WORSE = frozenset(
    {
        "returned",
        "refused",
        "past50",
        "past75",
        "overdue",
        "breaches",
        "completed_late",
        "statutory_mode",
        "paused",
    }
)
MORE_IS_BETTER = frozenset({"on_time"})
# Shares shown beside a figure: figure → the figure it is a share of.
SHARE_OF = {
    "on_time": "concluded",
    "completed_late": "concluded",
    "statutory_mode": "accepted",
    "paused": "accepted",
    "returned": "received",
    "refused": "received",
}


@dataclass
class FigureValue:
    key: str
    value: int
    last_week: int
    week_before: int
    base: int | None = None  # the figure this one is a share of, when it is one

    @property
    def label(self):
        return FIGURES[self.key].label

    @property
    def definition(self):
        return FIGURES[self.key].definition

    @property
    def change(self) -> int:
        return self.last_week - self.week_before

    @property
    def abs_change(self) -> int:
        return abs(self.change)

    @property
    def change_share(self) -> float | None:
        """Week-over-week change as a share of the week before (None when it was 0)."""
        return self.change / self.week_before if self.week_before else None

    @property
    def share(self) -> float | None:
        return self.value / self.base if self.base else None

    @property
    def trend_class(self) -> str:
        """ "worse", "better" or "" (neutral) for the week-over-week change."""
        if not self.change or self.key not in MORE_IS_WORSE | MORE_IS_BETTER:
            return ""
        worse = (self.change > 0) == (self.key in MORE_IS_WORSE)
        return "worse" if worse else "better"


@dataclass
class UnitRow:
    unit: Unit
    accepted: int
    statutory_mode: int
    paused: int
    concluded: int
    on_time: int
    completed_late: int
    overdue: int
    breaches: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None

    @property
    def statutory_mode_rate(self) -> float | None:
        return self.statutory_mode / self.accepted if self.accepted else None

    @property
    def paused_rate(self) -> float | None:
        return self.paused / self.accepted if self.accepted else None


@dataclass
class TrendPoint:
    start: date  # the first day of the bucket inside the period
    received: int
    concluded: int
    overdue: int
    partial: bool = False  # a week cut by the start or the end of the period


@dataclass
class HandlingRow:
    """Handling time of one item's cases decided in the period, beside its limits."""

    item: ServiceItem
    decided: int
    measure: LimitUnit  # the item's `handling_measure`
    median: float | None
    p90: float | None

    @property
    def committed(self) -> tuple[int | None, str]:
        if self.item.is_instant:
            return self.item.instant_minutes, LimitUnit.OFFICE_MINUTES
        return self.item.committed_limit, self.item.committed_unit

    @property
    def statutory(self) -> tuple[int | None, str]:
        return self.item.statutory_limit, self.item.statutory_unit

    @property
    def over_committed(self) -> bool:
        """The median is above the committed limit (both in the same unit)."""
        limit, unit = self.committed
        if self.median is None or not limit or unit != self.measure:
            return False
        return self.median > limit

    @property
    def share_of_statutory(self) -> float | None:
        if self.median is None or not self.item.statutory_limit:
            return None
        if self.measure != self.item.statutory_unit:
            return None
        return self.median / self.item.statutory_limit


@dataclass
class Dashboard:
    period: Period
    filters: dict
    figures: list[FigureValue]
    units: list[UnitRow]
    trend: list[TrendPoint]
    trend_bucket: str  # "week" or "day"
    handling: list[HandlingRow]
    visits: Visits
    ratings: Satisfaction
    unit_ratings: list[UnitSatisfaction]
    refreshed_at: datetime | None
    computed_at: datetime
    from_cache: bool = False  # set by `acceptance.page_cache` when served from the cache
    values: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.values = {f.key: f.value for f in self.figures}


def _rollup(filters: dict) -> QuerySet[DailyCaseRollup]:
    return DailyCaseRollup.objects.filter(rollup_filter_q(filters))


UNIT_COLUMNS = (
    "accepted",
    "statutory_mode",
    "paused",
    "concluded",
    "on_time",
    "completed_late",
    "overdue",
    "breaches",
)


@dataclass
class _Scan:
    figures: list[FigureValue]
    units: list[UnitRow]
    trend: list[TrendPoint]
    bucket: str
    visits: Visits


def _scan(filters: dict, period: Period) -> _Scan:
    """The period's rollup rows summed once per (unit, trend bucket); the figures, the unit
    table, the trend and the visits all come from that one scan. The week-over-week figures
    come from a second query over fourteen days of rows. Three queries with the unit names."""
    rows = _rollup(filters)
    scope = visit_scope(filters)
    visit_columns = {name: f"{scope}_{suffix}" for name, suffix in VISIT_COUNTS.items()}
    columns = (*DASHBOARD_FIGURES, *visit_columns.values())
    bucket = "week" if period.days > 21 else "day"
    grouped = (
        rows.filter(day__gte=period.start, day__lte=period.end)
        .values("unit_id", bucket=TruncWeek("day") if bucket == "week" else F("day"))
        .annotate(**{f"s_{name}": rollup_sum(name) for name in columns})
        .order_by()
    )
    totals = dict.fromkeys(columns, 0)
    per_unit: dict[int, dict[str, int]] = {}
    per_bucket: dict[date, dict[str, int]] = {}
    for row in grouped:
        unit = per_unit.setdefault(row["unit_id"], dict.fromkeys(UNIT_COLUMNS, 0))
        in_bucket = per_bucket.setdefault(_as_date(row["bucket"]), dict.fromkeys(columns, 0))
        for name in columns:
            value = row[f"s_{name}"]
            totals[name] += value
            in_bucket[name] += value
            if name in unit:
                unit[name] += value

    (w1_start, w1_end), (w0_start, w0_end) = period.last_week, period.week_before
    week_sums = {}
    for key in DASHBOARD_FIGURES:
        week_sums[f"w1_{key}"] = rollup_sum(key, day__gte=w1_start)
        week_sums[f"w0_{key}"] = rollup_sum(key, day__lte=w0_end)
    weeks = rows.filter(day__gte=w0_start, day__lte=w1_end).aggregate(**week_sums)
    figures = [
        FigureValue(
            key=key,
            value=totals[key],
            last_week=weeks[f"w1_{key}"],
            week_before=weeks[f"w0_{key}"],
            base=totals[SHARE_OF[key]] if key in SHARE_OF else None,
        )
        for key in DASHBOARD_FIGURES
    ]

    units = Unit.objects.in_bulk([u for u, sums in per_unit.items() if any(sums.values())])
    unit_rows = sorted(
        (UnitRow(unit=units[u], **per_unit[u]) for u in units), key=lambda r: r.unit.code
    )
    empty = dict.fromkeys(columns, 0)
    trend = [
        TrendPoint(
            start=max(start, period.start),
            received=per_bucket.get(start, empty)["received"],
            concluded=per_bucket.get(start, empty)["concluded"],
            overdue=per_bucket.get(start, empty)["overdue"],
            partial=bucket == "week"
            and (start < period.start or start + timedelta(days=6) > period.end),
        )
        for start in _buckets(period, bucket)
    ]
    visits = Visits(**{name: totals[column] for name, column in visit_columns.items()})
    return _Scan(figures, unit_rows, trend, bucket, visits)


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _buckets(period: Period, bucket: str) -> list[date]:
    """Every bucket of the period, empty ones included (a trend line must not skip weeks)."""
    if bucket == "day":
        return [period.start + timedelta(days=k) for k in range(period.days)]
    monday = period.start - timedelta(days=period.start.weekday())
    weeks = []
    while monday <= period.end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _handling_sql(ids_sql: str) -> str:
    """PostgreSQL: per item, the cases decided and the median and 90th percentile of the
    handling times kept in the rollup rows (a JSON list per row), each item in its own measure
    (office minutes for the item ids given as the last parameter). One statement."""
    table = DailyCaseRollup._meta.db_table
    return f"""
        WITH r AS (
            SELECT item_id, decided, handling_minutes_values AS m, handling_days_values AS d
              FROM {table} WHERE id IN ({ids_sql})
        ), n AS (
            SELECT item_id, SUM(decided) AS n FROM r GROUP BY item_id
        ), p AS (
            SELECT r.item_id,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.value::float8) AS median,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY v.value::float8) AS p90
              FROM r CROSS JOIN LATERAL jsonb_array_elements_text(
                   CASE WHEN r.item_id = ANY(%s) THEN r.m ELSE r.d END) AS v(value)
             GROUP BY r.item_id
        )
        SELECT n.item_id, n.n, p.median, p.p90
          FROM n LEFT JOIN p ON p.item_id = n.item_id
         WHERE n.n > 0
    """  # noqa: S608 - the table name is ours; values are parameters


def handling_times(filters: dict, period: Period) -> list[HandlingRow]:
    """Median and 90th percentile of the handling time (acceptance to decision, net of pauses)
    per item, over the cases decided in the period, from the handling times kept in the rollup
    (exact: the same values `speedup.selectors.item_metrics` reads). Two queries."""
    items = ServiceItem.objects.in_bulk()
    measures = {item_id: item.handling_measure for item_id, item in items.items()}
    minute_items = [i for i, m in measures.items() if m == LimitUnit.OFFICE_MINUTES]
    rows = (
        _rollup(filters)
        .filter(day__gte=period.start, day__lte=period.end, decided__gt=0)
        .order_by()
    )
    found: list[tuple[int, int, float | None, float | None]] = []
    if connection.vendor == "postgresql":
        ids_sql, params = rows.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(_handling_sql(ids_sql), [*params, minute_items])
            found = cursor.fetchall()
    else:  # SQLite (the demo): the same figures in Python
        decided: dict[int, int] = {}
        values: dict[int, list[float]] = {}
        for item_id, n, minutes, days in rows.values_list(
            "item_id", "decided", "handling_minutes_values", "handling_days_values"
        ):
            decided[item_id] = decided.get(item_id, 0) + n
            chosen = minutes if measures[item_id] == LimitUnit.OFFICE_MINUTES else days
            values.setdefault(item_id, []).extend(chosen or [])
        for item_id, n in decided.items():
            found.append(
                (item_id, n, percentile(values[item_id], 0.5), percentile(values[item_id], 0.9))
            )
    result = [
        HandlingRow(item=items[item_id], decided=int(n), measure=measures[item_id], median=m, p90=p)
        for item_id, n, m, p in found
    ]
    return sorted(result, key=lambda r: r.item.code)


def dashboard(filters: dict | None, period: Period) -> Dashboard:
    """Every figure of the dashboard for the filters and period (see `figures` for what each
    counts), computed from the rollup."""
    filters = filters_cleaned(filters)
    state = rollup_state()
    scan = _scan(filters, period)
    ratings, unit_ratings = satisfaction(
        filters,
        period,
        concluded=next(f.value for f in scan.figures if f.key == "concluded"),
        concluded_by_unit={r.unit.pk: r.concluded for r in scan.units},
        units={r.unit.pk: r.unit for r in scan.units},
    )
    return Dashboard(
        period=period,
        filters=filters,
        figures=scan.figures,
        units=scan.units,
        trend=scan.trend,
        trend_bucket=scan.bucket,
        handling=handling_times(filters, period),
        visits=scan.visits,
        ratings=ratings,
        unit_ratings=unit_ratings,
        refreshed_at=state.refreshed_at if state else None,
        computed_at=timezone.now(),
    )
