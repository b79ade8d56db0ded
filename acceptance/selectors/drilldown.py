"""Reads for the lists behind the supervision figures: the cases a dashboard figure counts, and
the open cases past their committed due time.

They read the case tables live, through the same definitions as the rollup (`figures`), so a
list holds exactly the cases its figure counts, with a constant number of queries whatever its
length (`select_related`, per-row values computed from loaded columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kuaiban.cases.clocks import clock_colour, time_left
from kuaiban.cases.models import OPEN_CASE_STATES, Application, CaseEvent, ItemCase
from kuaiban.cases.visits import within_target_q
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit

from ..figures import FIGURES, SINGLE_ITEMS, case_filter_q, cases_for_figure, spans_q
from .common import Period, filters_cleaned

MULTI_VISIT = "multi_visit"  # the drill-down of "applications needing more than one visit"
BROKE_VISIT_TARGET = "broke_visit_target"  # … of "more visits than promised" (`cases.visits`)
DRILL_FIGURES = (*FIGURES, MULTI_VISIT, BROKE_VISIT_TARGET)
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


def cases_behind(
    figure: str, filters: dict | None, period: Period, *, sort: str | None = None
) -> QuerySet[ItemCase]:
    """The item cases a dashboard figure counts, for the same filters and period."""
    filters = filters_cleaned(filters)
    if figure in (MULTI_VISIT, BROKE_VISIT_TARGET):
        apps = _applications(filters, period)
        apps = (
            apps.filter(visits__gt=1) if figure == MULTI_VISIT else apps.exclude(within_target_q())
        )
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
        .filter(case_filter_q(filters_cleaned(filters)))
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


def case_for_supervisor(user, case_id: int) -> ItemCase | None:
    """One case behind a figure, for its read-only page (None outside a district supervisor's
    district, as the dashboard's filters are)."""
    cases = ItemCase.objects.select_related(*CASE_RELATED, "application__item")
    if user.district_id:
        cases = cases.filter(application__hall__district_id=user.district_id)
    return cases.filter(pk=case_id).first()


def case_events(case: ItemCase):
    """The case's events and its application's own, newest first."""
    return (
        CaseEvent.objects.filter(application_id=case.application_id)
        .filter(Q(item_case=case) | Q(item_case__isnull=True))
        .select_related("actor")
        .order_by("-at", "-id")
    )
