"""What each supervision figure counts, defined once for the rollup and for the drill-down.

Every figure counts **item cases** (one item of one application, handled by one unit) whose
*anchor moment* falls in the period and which meet the figure's condition:

- received: the case was created (its application submitted);
- accepted: acceptance (for a later stage: when the stage opened and its clock started);
- returned: the case's first return for missing materials;
- refused: the application's refusal at intake (cases in state refused);
- concluded: conclusion; on_time / completed_late: concluded, decided by / after the
  committed due time;
- past50, past75, overdue, breaches: when the 50% / 75% warning, the overdue flag (committed
  time passed) or the statutory-breach flag fired;
- statutory_mode / paused: acceptance, for cases that run on the statutory limit / have had a
  pause;
- decided: the decision (approval or denial); instant_decided / instant_in_time: decided
  instant items / those decided within their office minutes.

statutory_mode and paused are counted by acceptance day, as `speedup.selectors.unit_usage`
counts them, so both pages agree. `cases_for_figure` returns exactly the cases a figure counts;
the rollup groups the same querysets by day, so the drill-down list and the figure cannot drift.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kuaiban.cases.models import CaseEvent, CasePause, CaseState, EventAction, ItemCase
from kuaiban.catalog.models import ServiceItem

# anchor name → the ItemCase column holding the moment (the two others come from the event log)
FIELD_ANCHORS = {
    "created": "created_at",
    "accepted": "accepted_at",
    "concluded": "concluded_at",
    "decided": "decided_at",
    "flag50": "flag_50_at",
    "flag75": "flag_75_at",
    "overdue": "overdue_at",
    "breach": "breach_at",
    # Not a case figure: the application's conclusion dates the visit counts of the rollup.
    "app_concluded": "application__concluded_at",
}
EVENT_ANCHORS = ("returned", "refused")
ANCHORS = (*FIELD_ANCHORS, *EVENT_ANCHORS)


@dataclass(frozen=True)
class Figure:
    key: str
    anchor: str
    label: Promise
    definition: Promise
    condition: Q = field(default_factory=Q)


def _has_pause() -> Exists:
    return Exists(CasePause.objects.filter(item_case=OuterRef("pk")))


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            "received",
            "created",
            _("Received"),
            _("Item cases of the applications submitted in the period."),
        ),
        Figure(
            "accepted",
            "accepted",
            _("Accepted"),
            _("Item cases accepted (a later stage: opened) in the period; their clocks started."),
        ),
        Figure(
            "returned",
            "returned",
            _("Returned"),
            _("Item cases returned for missing materials for the first time in the period."),
        ),
        Figure(
            "refused",
            "refused",
            _("Refused"),
            _("Item cases of the applications refused at intake in the period."),
            Q(state=CaseState.REFUSED),
        ),
        Figure(
            "concluded",
            "concluded",
            _("Concluded"),
            _("Item cases concluded in the period (results returned)."),
        ),
        Figure(
            "on_time",
            "concluded",
            _("On time"),
            _("Concluded in the period, decided within the committed time."),
            Q(completed_late=False),
        ),
        Figure(
            "past50",
            "flag50",
            _("Past 50%"),
            _("Cases whose 50% warning fired in the period."),
        ),
        Figure(
            "past75",
            "flag75",
            _("Past 75%"),
            _("Cases whose 75% warning fired in the period."),
        ),
        Figure(
            "overdue",
            "overdue",
            _("Overdue"),
            _("Cases flagged overdue (committed time exceeded) in the period."),
        ),
        Figure(
            "breaches",
            "breach",
            _("Statutory breaches"),
            _("Cases flagged in the period for exceeding the statutory limit."),
        ),
        Figure(
            "completed_late",
            "concluded",
            _("Completed late"),
            _("Concluded in the period, decided after the committed time."),
            Q(completed_late=True),
        ),
        Figure(
            "statutory_mode",
            "accepted",
            _("Statutory mode"),
            _("Cases accepted in the period that run on the statutory limit."),
            Q(statutory_mode=True),
        ),
        Figure(
            "paused",
            "accepted",
            _("Paused"),
            _("Cases accepted in the period whose clock has been paused."),
            Q(_has_pause()),
        ),
        Figure(
            "decided",
            "decided",
            _("Cases decided"),
            _("Cases approved or denied in the period (their handling time is measured)."),
        ),
        Figure(
            "instant_decided",
            "decided",
            _("Instant items decided"),
            _("Instant items decided in the period."),
            Q(item__kind=ServiceItem.Kind.INSTANT),
        ),
        Figure(
            "instant_in_time",
            "decided",
            _("Instant items within 30 minutes"),
            _("Instant items decided in the period within their office minutes."),
            Q(
                item__kind=ServiceItem.Kind.INSTANT,
                handling_minutes__lte=F("item__instant_minutes"),
            ),
        ),
    )
}

Span = tuple[datetime, datetime]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def day_spans(runs: list[tuple[date, date]]) -> list[Span]:
    """Inclusive runs of local days → half-open aware datetime spans."""
    return [(day_start(first), day_start(last + timedelta(days=1))) for first, last in runs]


def day_runs(days) -> list[tuple[date, date]]:
    """Sorted days → inclusive runs of consecutive days."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def runs_q(runs: list[tuple[date, date]]) -> Q:
    """Q over rollup rows: `day` in one of the inclusive runs."""
    q = Q()
    for first, last in runs:
        q |= Q(day__gte=first, day__lte=last)
    return q


def spans_q(name: str, spans: list[Span]) -> Q:
    q = Q()
    for start, end in spans:
        q |= Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return q


def anchored(anchor: str, spans: list[Span]) -> QuerySet[ItemCase]:
    """The item cases whose `anchor` moment lies in one of the spans, annotated `anchor_at`."""
    if anchor in FIELD_ANCHORS:
        column = FIELD_ANCHORS[anchor]
        return ItemCase.objects.filter(spans_q(column, spans)).annotate(anchor_at=F(column))
    if anchor == "returned":
        events = CaseEvent.objects.filter(item_case=OuterRef("pk"), action=EventAction.RETURN)
        first = events.order_by("at", "pk").values("at")[:1]
    elif anchor == "refused":
        events = CaseEvent.objects.filter(
            application=OuterRef("application"),
            item_case__isnull=True,
            action=EventAction.REFUSE,
        )
        first = events.order_by("at", "pk").values("at")[:1]
    else:
        raise ValueError(f"unknown anchor {anchor!r}")
    # The EXISTS narrows the cases cheaply (a semi-join); the first moment decides the day.
    return (
        ItemCase.objects.filter(Exists(events.filter(spans_q("at", spans))))
        .annotate(anchor_at=Subquery(first))
        .filter(spans_q("anchor_at", spans))
    )


def cases_for_figure(key: str, spans: list[Span]) -> QuerySet[ItemCase]:
    figure = FIGURES[key]
    return anchored(figure.anchor, spans).filter(figure.condition)


# -- dimensions (the dashboard filters) ------------------------------------------------------

# Dimension → the expression giving it for an item case. The intake window is the bundle's
# (一窗通办) or, for a single item, the item's own window, as at one-window intake.
DIMENSIONS = {
    "unit": F("unit_id"),
    "item": F("item_id"),
    "bundle": F("application__bundle_id"),
    "window": Coalesce("application__bundle__window_id", "application__item__window_id"),
    "hall": F("application__hall_id"),
    "district": F("application__hall__district_id"),
}
FILTER_NAMES = tuple(DIMENSIONS)
SINGLE_ITEMS = 0  # the bundle filter's value for "single-item applications only"


def case_filter_q(filters: dict, *, unit_field="unit_id", item_field="item_id") -> Q:
    """Q over ItemCase for the dashboard filters (dimension → id; None means any); over another
    model with an `application`, name its unit and item fields."""
    q = Q()
    if filters.get("unit"):
        q &= Q(**{unit_field: filters["unit"]})
    if filters.get("item"):
        q &= Q(**{item_field: filters["item"]})
    bundle = filters.get("bundle")
    if bundle == SINGLE_ITEMS:
        q &= Q(application__bundle__isnull=True)
    elif bundle:
        q &= Q(application__bundle_id=bundle)
    if filters.get("window"):
        q &= Q(application__bundle__window_id=filters["window"]) | Q(
            application__bundle__isnull=True, application__item__window_id=filters["window"]
        )
    if filters.get("hall"):
        q &= Q(application__hall_id=filters["hall"])
    if filters.get("district"):
        q &= Q(application__hall__district_id=filters["district"])
    return q


def rollup_filter_q(filters: dict) -> Q:
    """The same filters over `DailyCaseRollup` rows."""
    q = Q()
    for name in ("unit", "item", "window", "hall", "district"):
        if filters.get(name):
            q &= Q(**{f"{name}_id": filters[name]})
    bundle = filters.get("bundle")
    if bundle == SINGLE_ITEMS:
        q &= Q(bundle__isnull=True)
    elif bundle:
        q &= Q(bundle_id=bundle)
    return q
