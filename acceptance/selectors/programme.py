"""Reads for the programme page: the plan's year-end goals (bundles in service, speed-up items
at least 50% faster, instant items decided in time) with this year's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from kuaiban.catalog.models import Bundle
from speedup.selectors import ON_TIME_GOAL, ProgrammeGoal, speedup_goal

from ..figures import day_start
from ..models import DailyCaseRollup
from ..rollups import rollup_state
from .common import Period, rollup_sum
from .satisfaction import Satisfaction, satisfaction_total

BUNDLE_GOAL = 10  # the plan: all ten bundles in service by the year end
SPEEDUP_GOAL = 10  # the plan: at least 10 of the 23 speed-up items measured ≥ 50% faster


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
    ratings: Satisfaction
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
    office minutes (30 by default), from the rollup. 好差评: the year's rating figures.
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
        s_decided=rollup_sum("instant_decided"), s_in_time=rollup_sum("instant_in_time")
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
        ratings=satisfaction_total({}, Period(start, end)),
        refreshed_at=state.refreshed_at if state else None,
    )
