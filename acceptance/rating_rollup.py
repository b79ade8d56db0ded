"""The daily rollup of the 好差评 figures (`DailyRatingRollup`), rebuilt from the ratings and
follow-ups, on the same refresh as the case rollup (`rollups.rollup_refresh` calls it).

Rows are whole days: a day's rows count the ratings of what concluded that day and the
follow-ups opened that day (`rating_figures`), each anchor one `GROUP BY day, dimensions`
query over exactly the rows the drill-down lists. A routine refresh rebuilds only the days a
change since the refresh before the last may have moved, found by two id watermarks: a new
rating moves the conclusion day of what it rates; a follow-up's event (opened, answered,
flagged, escalated, appealed, decided, rectification rated) moves its opening day and, for an
appeal decision, the day of the rating it concerns. A day holds a day's ratings and follow-ups
(hundreds, where the case rollup's day holds thousands of cases), so the work follows the
changed days, not the history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from kuaiban.pgcopy import copy_instances
from kuaiban.ratings.models import FollowUp, FollowUpEvent, Rating

from .figures import FILTER_NAMES, day_runs, day_spans, runs_q
from .models import RATING_COUNTS, DailyRatingRollup, RollupState
from .rating_figures import RATING_ANCHORS, RATING_FIGURES, anchored_rows, dimensions

RATING_ROLLUP_NAME = "daily_rating"
# More touched days than this: rebuild everything instead.
DIRTY_DAY_LIMIT = 400


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def rating_rollup_rows(runs: list[tuple[date, date]]) -> list[DailyRatingRollup]:
    """The rating rollup rows of these inclusive runs of days (nothing is written)."""
    if not runs:
        return []
    spans = day_spans(runs)
    merged: dict[tuple, dict[str, int]] = {}
    for anchor, (counts, _column, _scope) in RATING_ANCHORS.items():
        dims = {f"dim_{name}": expression for name, expression in dimensions(counts).items()}
        aggregates = {
            f.key: Count("pk", filter=f.condition or None)
            for f in RATING_FIGURES.values()
            if f.anchor == anchor
        }
        grouped = (
            anchored_rows(anchor, spans)
            .annotate(rollup_day=TruncDate("anchor_at"), **dims)
            .values("rollup_day", *dims)
            .annotate(**aggregates)
            .order_by()
        )
        for row in grouped:
            key = (row["rollup_day"], *(row[name] for name in dims))
            sums = merged.setdefault(key, {})
            for name in aggregates:
                sums[name] = sums.get(name, 0) + row[name]
    fields = ("day", *(f"{name}_id" for name in FILTER_NAMES))
    return [
        DailyRatingRollup(**dict(zip(fields, key, strict=True)), **merged[key])
        for key in sorted(merged, key=lambda k: (k[0], *(-1 if v is None else v for v in k[1:])))
        if any(merged[key].get(name) for name in RATING_COUNTS)
    ]


def _touched_days(since_rating_id: int, since_event_id: int) -> set[date] | None:
    """The days a rating or a follow-up event newer than the watermarks may have moved; None
    when too many to be worth it."""
    moments = list(
        Rating.objects.filter(pk__gt=since_rating_id).values_list(
            "item_case__concluded_at", "application__concluded_at"
        )
    )
    days = {_local_day(case or whole) for case, whole in moments if case or whole}
    follow_up_ids = (
        FollowUpEvent.objects.filter(pk__gt=since_event_id)
        .order_by()
        .values_list("follow_up_id", flat=True)
        .distinct()
    )
    for opened, case, whole in FollowUp.objects.filter(pk__in=follow_up_ids).values_list(
        "opened_at", "rating__item_case__concluded_at", "rating__application__concluded_at"
    ):
        days.add(_local_day(opened))
        if case or whole:  # an appeal's decision moves the rating's day
            days.add(_local_day(case or whole))
    return None if len(days) > DIRTY_DAY_LIMIT else days


def _first_day() -> date | None:
    moments = [
        Rating.objects.aggregate(m=Min("application__concluded_at"))["m"],
        Rating.objects.aggregate(m=Min("item_case__concluded_at"))["m"],
        FollowUp.objects.aggregate(m=Min("opened_at"))["m"],
    ]
    known = [_local_day(m) for m in moments if m is not None]
    return min(known) if known else None


def rating_rollup_refresh(*, days: int = 0, full: bool = False, now=None) -> int:
    """Rebuild the days touched since the refresh before the last, the last `days` days, or
    everything; in the caller's transaction (the case rollup's refresh). Returns rows written."""
    now = now or timezone.now()
    today = _local_day(now)
    RollupState.objects.get_or_create(name=RATING_ROLLUP_NAME)
    state = RollupState.objects.select_for_update().get(name=RATING_ROLLUP_NAME)
    seen_rating = Rating.objects.aggregate(m=Max("pk"))["m"] or 0
    seen_event = FollowUpEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    touched = None
    if not full and state.last_rating_id is not None and state.last_event_id is not None:
        touched = _touched_days(
            state.last_rating_id if state.previous_rating_id is None else state.previous_rating_id,
            state.last_event_id if state.previous_event_id is None else state.previous_event_id,
        )
    if touched is None:
        full = True
        first = _first_day()
        runs = [(min(first, today), today)] if first else []
        DailyRatingRollup.objects.all().delete()
    else:
        touched |= {today - timedelta(days=k) for k in range(max(days, 0))}
        runs = day_runs(touched)
        if runs:
            DailyRatingRollup.objects.filter(runs_q(runs)).delete()
    rows = rating_rollup_rows(runs)
    if connection.vendor == "postgresql":
        copy_instances(DailyRatingRollup, rows)
    else:
        DailyRatingRollup.objects.bulk_create(rows, batch_size=2000)
    state.refreshed_at = now
    if full:
        state.full_rebuild_at = now
    state.rows_written = len(rows)
    state.previous_rating_id = seen_rating if full else state.last_rating_id
    state.last_rating_id = seen_rating
    state.previous_event_id = seen_event if full else state.last_event_id
    state.last_event_id = seen_event
    state.save()
    return len(rows)
