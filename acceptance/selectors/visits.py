"""Reads of the visits (跑动次数) for the supervision pages: the applications concluded in a
period, their trips and how many kept their promise (一次不用跑 / 最多跑一次, `cases.visits`), in
total and per item, bundle, unit or hall. Sums of the case rollup's visit counts; which of its
three scopes answers depends on the filters and the grouping, so an application is never
counted twice."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model

from ..figures import rollup_filter_q
from ..models import DailyCaseRollup
from .common import Period, filters_cleaned, rollup_sum
from .satisfaction import DIMENSION_MODELS

# Visits attribute → the rollup column's suffix (after the scope: apps_, unit_apps_, case_apps_).
VISIT_COUNTS = {
    "applications": "concluded",
    "visits": "visits",
    "multi_visit": "multi_visit",
    "within_target": "within_target",
    "no_visit_promised": "no_visit_promised",
    "no_visit_kept": "no_visit_kept",
}
# The dimensions the visits page groups by.
VISIT_DIMENSIONS = ("item", "bundle", "unit", "hall")


def visit_scope(filters: dict, dimension: str = "") -> str:
    """Which visit counts of the rollup answer these filters (and this grouping) without
    counting an application twice: per case with an item (one case per item and application),
    per application and unit with a unit, else per application."""
    if filters.get("item") or dimension == "item":
        return "case_apps"
    if filters.get("unit") or dimension == "unit":
        return "unit_apps"
    return "apps"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Visits:
    applications: int  # concluded in the period
    visits: int
    multi_visit: int  # applications that needed more than one visit
    within_target: int = 0  # visits no more than promised
    no_visit_promised: int = 0  # promised 一次不用跑
    no_visit_kept: int = 0  # … and made no visit

    @property
    def per_application(self) -> float | None:
        return _share(self.visits, self.applications)

    @property
    def broke_target(self) -> int:
        return self.applications - self.within_target

    @property
    def within_share(self) -> float | None:
        return _share(self.within_target, self.applications)

    @property
    def at_most_once_promised(self) -> int:
        return self.applications - self.no_visit_promised

    @property
    def at_most_once_kept(self) -> int:
        return self.within_target - self.no_visit_kept

    @property
    def no_visit_share(self) -> float | None:
        """一次不用跑: of the applications promised no visit, those that made none."""
        return _share(self.no_visit_kept, self.no_visit_promised)

    @property
    def at_most_once_share(self) -> float | None:
        """最多跑一次: of the applications promised at most one visit, those that kept to it."""
        return _share(self.at_most_once_kept, self.at_most_once_promised)


@dataclass
class GroupVisits:
    member: Model | None  # None: applications without one (a single item has no bundle)
    figures: Visits


def _sums(scope: str) -> dict:
    return {name: rollup_sum(f"{scope}_{suffix}") for name, suffix in VISIT_COUNTS.items()}


def visits_by(dimension: str, filters: dict | None, period: Period) -> tuple[Visits, list]:
    """The period's visit figures in total and per member of `dimension` (item, bundle, unit
    or hall) with an application concluded, by code. Two aggregates over the rollup and one
    query for the members."""
    if dimension not in VISIT_DIMENSIONS:
        raise KeyError(dimension)
    filters = filters_cleaned(filters)
    rows = DailyCaseRollup.objects.filter(
        rollup_filter_q(filters), day__gte=period.start, day__lte=period.end
    )
    total = Visits(**rows.aggregate(**_sums(visit_scope(filters))))
    column = f"{dimension}_id"
    grouped = {
        row.pop(column): Visits(**row)
        for row in rows.values(column).annotate(**_sums(visit_scope(filters, dimension))).order_by()
    }
    model = DIMENSION_MODELS[dimension]
    members = model._default_manager.in_bulk([k for k in grouped if k is not None])
    result = [
        GroupVisits(members.get(key) if key is not None else None, figures)
        for key, figures in grouped.items()
        if figures.applications and (key is None or key in members)
    ]
    result.sort(key=lambda r: (r.member is None, getattr(r.member, "code", "")))
    return total, result
