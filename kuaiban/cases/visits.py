"""跑动次数: the applicant's trips, counted from the in-person events themselves, and the promise
they are measured against (一次不用跑 / 最多跑一次, domain.md §3).

Rules:

- VISIT-PER-DAY: every in-person event (an application made at the window, a return to the
  window, a pick-up, an on-site check) is recorded as a `VISIT` event with its kind; the first
  one of a local day is a trip and counts a visit, later ones that day belong to the same trip
  (handing in the form and picking up an instant item's result in one sitting is one visit).
- VISIT-TARGET: an application promises no visit (一次不用跑) when it was made online, its
  results are downloaded or posted and every item it holds promises no visit; otherwise at most
  one (最多跑一次). It is fixed at submission, from the catalog of that moment.
- An application broke its target when its visits exceed what the target allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from kuaiban.catalog.models import VisitTarget

from .events import record_event
from .models import Application, EventAction, ItemCase, VisitKind


def visit_target_for(*, channel: str, delivery: str, item_targets: Iterable[str]) -> str:
    """Rule VISIT-TARGET (pure)."""
    no_visit_possible = (
        channel in (Application.Channel.ONLINE, Application.Channel.PROACTIVE)
        and delivery in (Application.Delivery.DOWNLOAD, Application.Delivery.MAIL)
        and VisitTarget.of_items(item_targets) == VisitTarget.NONE
    )
    return VisitTarget.NONE if no_visit_possible else VisitTarget.AT_MOST_ONCE


def _today_start():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def made_an_earlier_trip(application: Application) -> bool:
    """Whether the applicant already came in person on an earlier day (so today's is a return)."""
    return application.events.filter(action=EventAction.VISIT, at__lt=_today_start()).exists()


def visit_count(
    *,
    application: Application,
    kind: VisitKind,
    actor,
    note: str = "",
    item_case: ItemCase | None = None,
) -> bool:
    """Record an in-person event on a locked application (rule VISIT-PER-DAY): True when it
    started a new trip and so counted a visit."""
    start = _today_start()
    end = start + timedelta(days=1)
    same_day = application.events.filter(
        action=EventAction.VISIT, at__gte=start, at__lt=end
    ).exists()
    if not same_day:
        application.visits += 1
        application.save(update_fields=["visits"])
    record_event(
        application=application,
        item_case=item_case,
        action=EventAction.VISIT,
        actor=actor,
        reason=note,
        data={"kind": kind.value, "trip": not same_day, "visits": application.visits},
    )
    return not same_day


def within_target_q(prefix: str = "") -> Q:
    """The applications (reached through `prefix`, e.g. "application__") that kept their
    promise: no visit when none was promised, at most one otherwise."""
    return Q(**{f"{prefix}visit_target": VisitTarget.NONE, f"{prefix}visits": 0}) | Q(
        **{f"{prefix}visit_target": VisitTarget.AT_MOST_ONCE, f"{prefix}visits__lte": 1}
    )
