"""Speed-up metrics (提速办): how fast each item is really handled, against its limits.

Handling time is stored on each case at its decision (net of pauses): office minutes, and days
in the item's statutory unit. An item counts as **measured at least 50% faster** when the median
handling time of the period is at most half its statutory limit; an item without a statutory
limit counts when it met its own commitment in at least 90% of cases (an instant item within its
office minutes). Supervisors see how each figure is defined on the page.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from kuaiban.cases.models import ItemCase
from kuaiban.catalog.models import ServiceItem, SpeedUpEntry
from kuaiban.stats import percentile
from kuaiban.workdays.units import LimitUnit

ON_TIME_GOAL = 0.9


@dataclass
class ItemMetrics:
    item: ServiceItem
    concluded: int
    on_time: int
    completed_late: int
    breaches: int
    statutory_mode: int
    median: float | None  # in `unit`
    p90: float | None
    unit: LimitUnit  # the item's `handling_measure`

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None

    @property
    def share_of_statutory(self) -> float | None:
        """Median handling time as a share of the statutory limit (0.5 = 50% faster)."""
        if (
            self.median is None
            or not self.item.statutory_limit
            or self.unit == LimitUnit.OFFICE_MINUTES
        ):
            return None
        return self.median / self.item.statutory_limit

    @property
    def at_least_half_faster(self) -> bool:
        if not self.concluded:
            return False
        share = self.share_of_statutory
        if share is not None:
            return share <= 0.5
        # Instant items and items without a statutory limit: measured against their commitment.
        return (self.on_time_rate or 0) >= ON_TIME_GOAL


def item_metrics(
    *, start: datetime, end: datetime, unit_id: int | None = None
) -> list[ItemMetrics]:
    """Metrics of the cases decided in [start, end), per item. Two queries whatever the size."""
    cases = ItemCase.objects.filter(decided_at__gte=start, decided_at__lt=end)
    if unit_id:
        cases = cases.filter(unit_id=unit_id)
    rows = cases.values_list(
        "item_id",
        "handling_minutes",
        "handling_days",
        "completed_late",
        "breach_at",
        "statutory_mode",
    ).order_by("item_id")
    grouped: dict[int, list] = {}
    for row in rows.iterator(chunk_size=5000):
        grouped.setdefault(row[0], []).append(row)
    items = ServiceItem.objects.in_bulk(list(grouped))
    results = []
    for item_id, item_rows in grouped.items():
        item = items[item_id]
        unit = item.handling_measure
        column = 1 if unit == LimitUnit.OFFICE_MINUTES else 2
        values = [r[column] for r in item_rows if r[column] is not None]
        late = sum(1 for r in item_rows if r[3])
        results.append(
            ItemMetrics(
                item=item,
                concluded=len(item_rows),
                on_time=len(item_rows) - late,
                completed_late=late,
                breaches=sum(1 for r in item_rows if r[4] is not None),
                statutory_mode=sum(1 for r in item_rows if r[5]),
                median=percentile(values, 0.5),
                p90=percentile(values, 0.9),
                unit=unit,
            )
        )
    return sorted(results, key=lambda m: m.item.code)


@dataclass
class EntryResult:
    entry: SpeedUpEntry
    metrics: list[ItemMetrics]

    @property
    def measured(self) -> bool:
        return bool(self.metrics)

    @property
    def at_least_half_faster(self) -> bool:
        return self.measured and all(m.at_least_half_faster for m in self.metrics)


@dataclass
class ProgrammeGoal:
    entries: list[EntryResult]
    goal: int = 10

    @property
    def faster_count(self) -> int:
        return sum(1 for e in self.entries if e.at_least_half_faster)

    @property
    def met(self) -> bool:
        return self.faster_count >= self.goal


def speedup_goal(*, start: datetime, end: datetime) -> ProgrammeGoal:
    """How many of the 23 speed-up items are measured at least 50% faster (the plan: ≥ 10)."""
    metrics = {m.item.pk: m for m in item_metrics(start=start, end=end)}
    entries = SpeedUpEntry.objects.prefetch_related("items").order_by("number")
    return ProgrammeGoal(
        [EntryResult(e, [metrics[i.pk] for i in e.items.all() if i.pk in metrics]) for e in entries]
    )


def unit_usage(*, start: datetime, end: datetime) -> list[dict]:
    """Statutory mode and pause use per unit, for cases accepted in the period (to spot a unit
    leaning on them)."""
    return list(
        ItemCase.objects.filter(accepted_at__gte=start, accepted_at__lt=end)
        .values("unit__code", "unit__name_zh")
        .annotate(
            cases=Count("id", distinct=True),
            statutory_mode=Count("id", filter=Q(statutory_mode=True), distinct=True),
            paused=Count("id", filter=Q(pauses__isnull=False), distinct=True),
        )
        .order_by("unit__code")
    )
