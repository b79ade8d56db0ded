"""Reads of the 好差评 figures for the supervision pages: the counts of the rating rollup for a
period and filters, the rates over them (`rating_figures.RATES`), in total and per unit. One
grouped query over the rating rollup; the cases concluded (the rating rate's denominator) come
from the caller's case-rollup scan, so both halves of a rate share the filters."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, QuerySet

from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit, Window

from ..figures import rollup_filter_q
from ..models import RATING_COUNTS, DailyCaseRollup, DailyRatingRollup
from ..rating_figures import RATES, RATING_FIGURES, Rate, rows_filter_q, rows_for_figure
from .common import Period, filters_cleaned, rollup_sum


@dataclass(frozen=True)
class RateValue:
    rate: Rate
    numerator: int
    denominator: int

    @property
    def key(self) -> str:
        return self.rate.key

    @property
    def label(self):
        return self.rate.label

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def below_goal(self) -> bool:
        return self.rate.goal is not None and self.value is not None and self.value < self.rate.goal


@dataclass
class Satisfaction:
    """The 好差评 counts of a scope and the cases it concluded."""

    counts: dict[str, int]
    concluded: int

    def __getitem__(self, key: str) -> int:
        return self.concluded if key == "concluded" else self.counts[key]

    def rate(self, key: str) -> RateValue:
        rate = next(r for r in RATES if r.key == key)
        return RateValue(
            rate,
            sum(self[name] for name in rate.numerators),
            sum(self[name] for name in rate.denominators),
        )

    @property
    def rates(self) -> list[RateValue]:
        return [self.rate(r.key) for r in RATES]

    @property
    def figures(self) -> list[tuple[str, object, int]]:
        """(key, label, count) of every count, for the drill-down links."""
        return [(key, RATING_FIGURES[key].label, self.counts[key]) for key in RATING_COUNTS]

    @property
    def any(self) -> bool:
        return any(self.counts.values())


@dataclass
class UnitSatisfaction:
    unit: Unit
    figures: Satisfaction


def _rows(filters: dict, period: Period) -> QuerySet[DailyRatingRollup]:
    return DailyRatingRollup.objects.filter(
        rollup_filter_q(filters), day__gte=period.start, day__lte=period.end
    )


def satisfaction(
    filters: dict,
    period: Period,
    *,
    concluded: int,
    concluded_by_unit: dict[int, int],
    units: dict[int, Unit] | None = None,
) -> tuple[Satisfaction, list[UnitSatisfaction]]:
    """The period's 好差评 figures in total and per unit (units with a count or a concluded
    case; a whole application's ratings count in the total only). One query, and one for the
    units not among `units` when there are any."""
    grouped = (
        _rows(filters, period)
        .values("unit_id")
        .annotate(**{name: rollup_sum(name) for name in RATING_COUNTS})
        .order_by()
    )
    totals = dict.fromkeys(RATING_COUNTS, 0)
    per_unit: dict[int, dict[str, int]] = {}
    for row in grouped:
        for name in RATING_COUNTS:
            totals[name] += row[name]
        if row["unit_id"] is not None:
            per_unit[row["unit_id"]] = {name: row[name] for name in RATING_COUNTS}
    unit_ids = set(per_unit) | {u for u, n in concluded_by_unit.items() if n}
    units = {pk: unit for pk, unit in (units or {}).items() if pk in unit_ids}
    if missing := unit_ids - set(units):
        units.update(Unit.objects.in_bulk(missing))
    rows = [
        UnitSatisfaction(
            unit,
            Satisfaction(
                per_unit.get(pk, dict.fromkeys(RATING_COUNTS, 0)), concluded_by_unit.get(pk, 0)
            ),
        )
        for pk, unit in units.items()
    ]
    rows.sort(key=lambda r: r.unit.code)
    return Satisfaction(totals, concluded), rows


def satisfaction_total(filters: dict, period: Period) -> Satisfaction:
    """The period's 好差评 figures in total, with the cases concluded: two aggregates."""
    sums = _rows(filters, period).aggregate(**{n: rollup_sum(n) for n in RATING_COUNTS})
    concluded = DailyCaseRollup.objects.filter(
        rollup_filter_q(filters), day__gte=period.start, day__lte=period.end
    ).aggregate(n=rollup_sum("concluded"))["n"]
    return Satisfaction(sums, concluded)


# The catalog model of each dashboard dimension (`figures.DIMENSIONS`), for `satisfaction_by`.
DIMENSION_MODELS: dict[str, type[Model]] = {
    "unit": Unit,
    "item": ServiceItem,
    "bundle": Bundle,
    "window": Window,
    "hall": ServiceHall,
    "district": District,
}


@dataclass
class GroupSatisfaction:
    """The 好差评 figures of one member of a dimension; `member` None holds the figures without
    one (for unit and item: the whole applications' ratings; for bundle: single items)."""

    member: Model | None
    figures: Satisfaction


def satisfaction_by(
    dimension: str, filters: dict | None, period: Period
) -> list[GroupSatisfaction]:
    """The period's 好差评 figures per member of one dashboard dimension (unit, item, bundle,
    window, hall or district), each with its cases concluded for the rating rate: one grouped
    query over each rollup (the same filters) and one for the members. Members with a count or a
    concluded case, by code; the row without a member last."""
    model = DIMENSION_MODELS[dimension]
    filters = filters_cleaned(filters)
    column = f"{dimension}_id"
    counts = {
        row[column]: {name: row[name] for name in RATING_COUNTS}
        for row in _rows(filters, period)
        .values(column)
        .annotate(**{name: rollup_sum(name) for name in RATING_COUNTS})
        .order_by()
    }
    concluded = dict(
        DailyCaseRollup.objects.filter(
            rollup_filter_q(filters), day__gte=period.start, day__lte=period.end
        )
        .values(column)
        .annotate(n=rollup_sum("concluded"))
        .order_by()
        .values_list(column, "n")
    )
    keys = {k for k, c in counts.items() if any(c.values())} | {
        k for k, n in concluded.items() if n
    }
    members = model._default_manager.in_bulk([k for k in keys if k is not None])
    rows = [
        GroupSatisfaction(
            members.get(k) if k is not None else None,
            Satisfaction(counts.get(k, dict.fromkeys(RATING_COUNTS, 0)), concluded.get(k, 0)),
        )
        for k in keys
        if k is None or k in members
    ]
    rows.sort(key=lambda r: (r.member is None, getattr(r.member, "code", "")))
    return rows


def reviews_behind(figure: str, filters: dict | None, period: Period) -> QuerySet:
    """The ratings or follow-ups a 好差评 count holds, for the same filters and period, newest
    first, read live through the figure's one definition (`rating_figures`)."""
    filters = filters_cleaned(filters)
    counts = RATING_FIGURES[figure].counts
    rows = rows_for_figure(figure, [period.span]).filter(rows_filter_q(counts, filters))
    related = ["application__bundle", "application__item", "application__hall", "item_case__item"]
    if counts == "rating":
        related.append("application__applicant")  # shown only for a named rater
        return rows.select_related(*related, "item_case__unit", "follow_up").order_by(
            "-anchor_at", "-pk"
        )
    return rows.select_related(*related, "unit", "rating").order_by("-opened_at", "-pk")
