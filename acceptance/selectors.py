"""Reads for the supervision pages: the programme's year-end goals, the dashboard, the
drill-down lists and the overdue list.

The dashboard reads only the daily rollup (`acceptance.rollups`): one grouped scan for the
figures, the unit table, the trend and the visits, one small query for the week-over-week
figures, and one for the exact median and 90th percentile of the handling times kept in the
rollup rows. A whole dashboard is also cached for `CACHE_SECONDS` under a key that includes the
rollup's refresh time, so a refresh shows at once; the Celery task warms the usual ones. The
drill-down lists read the case tables live, through the same definitions (`figures`), with a
constant number of queries whatever their length (`select_related`, per-row values computed
from loaded columns).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from kuaiban.cases.clocks import clock_colour, time_left
from kuaiban.cases.models import OPEN_CASE_STATES, Application, ItemCase
from kuaiban.catalog.models import Bundle, District, ServiceItem, Unit
from kuaiban.stats import percentile
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit
from speedup.selectors import ON_TIME_GOAL, ProgrammeGoal, speedup_goal

from .figures import (
    FIGURES,
    SINGLE_ITEMS,
    Span,
    case_filter_q,
    cases_for_figure,
    day_start,
    rollup_filter_q,
    spans_q,
)
from .models import DASHBOARD_FIGURES, DailyCaseRollup, RollupState
from .rollups import rollup_state

CACHE_SECONDS = 300
BUNDLE_GOAL = 10  # the plan: all ten bundles in service by the year end
SPEEDUP_GOAL = 10  # the plan: at least 10 of the 23 speed-up items measured ≥ 50% faster
MULTI_VISIT = "multi_visit"  # the drill-down of "applications needing more than one visit"
DRILL_FIGURES = (*FIGURES, MULTI_VISIT)
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


@dataclass(frozen=True)
class Period:
    """Local days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def span(self) -> Span:
        return (day_start(self.start), day_start(self.end + timedelta(days=1)))

    @property
    def last_week(self) -> tuple[date, date]:
        """The last seven days of the period."""
        return (self.end - timedelta(days=6), self.end)

    @property
    def week_before(self) -> tuple[date, date]:
        """The seven days before those."""
        return (self.end - timedelta(days=13), self.end - timedelta(days=7))


def _clean(filters: dict | None) -> dict:
    return {k: v for k, v in (filters or {}).items() if v is not None and v != ""}


# -- the dashboard -----------------------------------------------------------------------------


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
        return bool(self.median is not None and limit and unit == self.measure) and (
            self.median > limit
        )

    @property
    def share_of_statutory(self) -> float | None:
        if self.median is None or not self.item.statutory_limit:
            return None
        if self.measure != self.item.statutory_unit:
            return None
        return self.median / self.item.statutory_limit


@dataclass
class Visits:
    applications: int  # concluded in the period
    visits: int
    multi_visit: int  # applications that needed more than one visit

    @property
    def per_application(self) -> float | None:
        return self.visits / self.applications if self.applications else None


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
    refreshed_at: datetime | None
    computed_at: datetime
    from_cache: bool = False
    values: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.values = {f.key: f.value for f in self.figures}


def _rollup(filters: dict) -> QuerySet[DailyCaseRollup]:
    return DailyCaseRollup.objects.filter(rollup_filter_q(filters))


def _sum(name: str, **day_filter) -> Coalesce:
    return Coalesce(Sum(name, filter=Q(**day_filter) if day_filter else None), 0)


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


def _visit_scope(filters: dict) -> str:
    """Which visit counts of the rollup answer these filters without counting an application
    twice: per case with an item filter (one case per item and application), per application
    and unit with a unit filter, else per application."""
    return "case_apps" if filters.get("item") else "unit_apps" if filters.get("unit") else "apps"


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
    scope = _visit_scope(filters)
    visit_columns = {
        "applications": f"{scope}_concluded",
        "visits": f"{scope}_visits",
        "multi_visit": f"{scope}_multi_visit",
    }
    columns = (*DASHBOARD_FIGURES, *visit_columns.values())
    bucket = "week" if period.days > 21 else "day"
    grouped = (
        rows.filter(day__gte=period.start, day__lte=period.end)
        .values("unit_id", bucket=TruncWeek("day") if bucket == "week" else F("day"))
        .annotate(**{f"s_{name}": _sum(name) for name in columns})
        .order_by()
    )
    totals = dict.fromkeys(columns, 0)
    per_unit: dict[int, dict[str, int]] = {}
    per_bucket: dict[date, dict[str, int]] = {}
    for row in grouped:
        unit = per_unit.setdefault(row["unit_id"], dict.fromkeys(UNIT_COLUMNS, 0))
        trend = per_bucket.setdefault(_as_date(row["bucket"]), dict.fromkeys(columns, 0))
        for name in columns:
            value = row[f"s_{name}"]
            totals[name] += value
            trend[name] += value
            if name in unit:
                unit[name] += value

    (w1_start, w1_end), (w0_start, w0_end) = period.last_week, period.week_before
    weeks = {}
    for key in DASHBOARD_FIGURES:
        weeks[f"w1_{key}"] = _sum(key, day__gte=w1_start)
        weeks[f"w0_{key}"] = _sum(key, day__lte=w0_end)
    weeks = rows.filter(day__gte=w0_start, day__lte=w1_end).aggregate(**weeks)
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


def _applications(filters: dict, period: Period) -> QuerySet[Application]:
    """Applications concluded in the period that match the filters (an application matches a
    unit or item filter when one of its cases does)."""
    apps = Application.objects.filter(spans_q("concluded_at", [period.span]))
    bundle = filters.get("bundle")
    if bundle == SINGLE_ITEMS:
        apps = apps.filter(bundle__isnull=True)
    elif bundle:
        apps = apps.filter(bundle_id=bundle)
    case_q = Q()
    if filters.get("unit"):
        case_q &= Q(unit_id=filters["unit"])
    if filters.get("item"):
        case_q &= Q(item_id=filters["item"])
    if case_q:
        apps = apps.filter(Exists(ItemCase.objects.filter(case_q, application=OuterRef("pk"))))
    if filters.get("window"):
        apps = apps.filter(
            Q(bundle__window_id=filters["window"])
            | Q(bundle__isnull=True, item__window_id=filters["window"])
        )
    if filters.get("hall"):
        apps = apps.filter(hall_id=filters["hall"])
    if filters.get("district"):
        apps = apps.filter(hall__district_id=filters["district"])
    return apps


def _cache_key(filters: dict, period: Period, state: RollupState | None) -> str:
    stamp = state.refreshed_at.isoformat() if state and state.refreshed_at else "never"
    raw = json.dumps(
        [sorted(filters.items()), period.start.isoformat(), period.end.isoformat(), stamp]
    )
    return "acceptance:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def dashboard(filters: dict | None, period: Period, *, use_cache: bool = True) -> Dashboard:
    """Every figure of the dashboard for the filters and period (see `figures` for what each
    counts). Served from the cache when the same dashboard was computed since the last refresh.
    """
    filters = _clean(filters)
    state = rollup_state()
    key = _cache_key(filters, period, state)
    if use_cache:
        cached = cache.get(key)
        if cached is not None:
            cached.from_cache = True
            return cached
    scan = _scan(filters, period)
    result = Dashboard(
        period=period,
        filters=filters,
        figures=scan.figures,
        units=scan.units,
        trend=scan.trend,
        trend_bucket=scan.bucket,
        handling=handling_times(filters, period),
        visits=scan.visits,
        refreshed_at=state.refreshed_at if state else None,
        computed_at=timezone.now(),
    )
    if use_cache:
        cache.set(key, result, CACHE_SECONDS)
    return result


DEFAULT_DAYS = 28  # four weeks, so the week-over-week comparison has two full weeks


def default_period(today: date | None = None) -> Period:
    today = today or timezone.localdate()
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def dashboards_warm(today: date | None = None) -> int:
    """After a refresh: compute the dashboards supervisors open first (the default period, the
    whole city and each district) and the programme page into the cache. Returns how many."""
    period = default_period(today)
    scopes = [{}] + [{"district": pk} for pk in District.objects.values_list("pk", flat=True)]
    for filters in scopes:
        dashboard(filters, period)
    programme_status_cached((today or timezone.localdate()).year)
    return len(scopes) + 1


# -- drill-down lists --------------------------------------------------------------------------

CASE_RELATED = (
    "application",
    "application__bundle",
    "application__hall",
    "application__hall__district",
    "item",
    "unit",
    "reviewer",
)
# ?sort= value → ordering (a leading "-" reverses it); the case id breaks ties.
CASE_SORTS = {
    "reference": "application__reference",
    "item": "item__code",
    "unit": "unit__code",
    "hall": "application__hall__code",
    "holder": "reviewer__username",
    "state": "state",
    "received": "created_at",
    "accepted": "accepted_at",
    "due": "committed_due_at",
    "statutory_due": "statutory_due_at",
    "decided": "decided_at",
    "concluded": "concluded_at",
    "handling": "handling_minutes",
    "visits": "application__visits",
}
DEFAULT_SORT = {"received": "-received", "accepted": "-accepted", "overdue": "due"}


def case_ordering(sort: str | None, default: str = "-received") -> tuple[str, list[str]]:
    """A validated ?sort= value and the ORM ordering for it (unknown values: the default)."""
    sort = sort or default
    key = sort.lstrip("-")
    if key not in CASE_SORTS:
        sort, key = default, default.lstrip("-")
    prefix = "-" if sort.startswith("-") else ""
    return sort, [f"{prefix}{CASE_SORTS[key]}", f"{prefix}pk"]


def cases_behind(
    figure: str, filters: dict | None, period: Period, *, sort: str | None = None
) -> QuerySet[ItemCase]:
    """The item cases a dashboard figure counts, for the same filters and period."""
    filters = _clean(filters)
    if figure == MULTI_VISIT:
        apps = _applications(filters, period).filter(visits__gt=1)
        cases = ItemCase.objects.filter(application__in=apps.values("pk"))
    elif figure in FIGURES:
        cases = cases_for_figure(figure, [period.span])
    else:
        raise KeyError(figure)
    _sort, ordering = case_ordering(sort, DEFAULT_SORT.get(figure, "-received"))
    return cases.filter(case_filter_q(filters)).select_related(*CASE_RELATED).order_by(*ordering)


@dataclass
class OverdueCase:
    case: ItemCase
    late: timedelta  # wall-clock time past the committed due time
    working_days_late: int | None  # for cases counted in working days
    breached: bool  # the statutory due time has passed too
    clock: str


def overdue_cases(
    filters: dict | None, *, now: datetime | None = None, sort: str | None = None
) -> QuerySet[ItemCase]:
    """Open cases past their committed due time now, the latest first by default."""
    now = now or timezone.now()
    _sort, ordering = case_ordering(sort, "due")
    return (
        ItemCase.objects.filter(state__in=OPEN_CASE_STATES, committed_due_at__lte=now)
        .filter(case_filter_q(_clean(filters)))
        .select_related(*CASE_RELATED)
        .order_by(*ordering)
    )


def overdue_rows(cases, *, now: datetime | None = None) -> list[OverdueCase]:
    """How late each case of a (page of the) overdue list is, from its loaded columns."""
    now = now or timezone.now()
    cal = calendar_from_db()
    today = timezone.localtime(now).date()
    rows = []
    for case in cases:
        left = time_left(case, now)
        late = -left if left is not None else timedelta(0)
        working = None
        if case.clock_unit == LimitUnit.WORKING_DAYS and case.committed_due_at:
            due_day = timezone.localtime(case.committed_due_at).date()
            end_day = timezone.localtime(case.paused_since).date() if case.paused_since else today
            working = max(cal.working_days_between(due_day, end_day), 0)
        rows.append(
            OverdueCase(
                case=case,
                late=late,
                working_days_late=working,
                breached=bool(case.statutory_due_at and case.statutory_due_at <= now),
                clock=clock_colour(case, now),
            )
        )
    return rows


# -- the programme page ------------------------------------------------------------------------


@dataclass
class BundleRow:
    bundle: Bundle
    received: int
    concluded: int
    visits: int

    @property
    def in_service(self) -> bool:
        return self.bundle.is_published and self.received > 0

    @property
    def visits_per_application(self) -> float | None:
        return self.visits / self.concluded if self.concluded else None


@dataclass
class ProgrammeStatus:
    year: int
    start: date
    end: date
    bundles: list[BundleRow]
    speedup: ProgrammeGoal
    instant_decided: int
    instant_in_time: int
    refreshed_at: datetime | None
    bundle_goal: int = BUNDLE_GOAL
    speedup_goal: int = SPEEDUP_GOAL
    instant_goal: float = ON_TIME_GOAL

    @property
    def bundles_in_service(self) -> int:
        return sum(1 for b in self.bundles if b.in_service)

    @property
    def bundle_applications_concluded(self) -> int:
        return sum(b.concluded for b in self.bundles)

    @property
    def instant_share(self) -> float | None:
        return self.instant_in_time / self.instant_decided if self.instant_decided else None


def programme_status(year: int, *, today: date | None = None) -> ProgrammeStatus:
    """The plan's year-end goals with live figures, from 1 January to today (or 31 December).

    Bundles in service: published and with at least one application submitted this year;
    completed through the bundle route: bundle applications concluded this year. Speed-up items:
    `speedup.selectors.speedup_goal` over the year. Instant items: decided this year within their
    office minutes (30 by default), from the rollup.
    """
    today = today or timezone.localdate()
    start = date(year, 1, 1)
    end = min(date(year, 12, 31), max(today, start))
    span = (day_start(start), day_start(end + timedelta(days=1)))
    in_year = {"gte": span[0], "lt": span[1]}
    bundles = Bundle.objects.annotate(
        received=Count(
            "application",
            filter=Q(
                application__submitted_at__gte=in_year["gte"],
                application__submitted_at__lt=in_year["lt"],
            ),
        ),
        concluded=Count(
            "application",
            filter=Q(
                application__concluded_at__gte=in_year["gte"],
                application__concluded_at__lt=in_year["lt"],
            ),
        ),
        visits=Coalesce(
            Sum(
                "application__visits",
                filter=Q(
                    application__concluded_at__gte=in_year["gte"],
                    application__concluded_at__lt=in_year["lt"],
                ),
            ),
            Value(0),
        ),
    ).order_by("code")
    instant = DailyCaseRollup.objects.filter(day__gte=start, day__lte=end).aggregate(
        s_decided=_sum("instant_decided"), s_in_time=_sum("instant_in_time")
    )
    state = rollup_state()
    return ProgrammeStatus(
        year=year,
        start=start,
        end=end,
        bundles=[BundleRow(b, b.received, b.concluded, b.visits) for b in bundles],
        speedup=speedup_goal(start=span[0], end=span[1]),
        instant_decided=instant["s_decided"],
        instant_in_time=instant["s_in_time"],
        refreshed_at=state.refreshed_at if state else None,
    )


def programme_status_cached(year: int) -> ProgrammeStatus:
    state = rollup_state()
    stamp = state.refreshed_at.isoformat() if state and state.refreshed_at else "never"
    key = f"acceptance:programme:{year}:{timezone.localdate().isoformat()}:{stamp}"
    status = cache.get(key)
    if status is None:
        status = programme_status(year)
        cache.set(key, status, CACHE_SECONDS)
    return status
