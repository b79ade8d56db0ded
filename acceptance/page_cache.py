"""The supervision pages kept in the cache: a dashboard or a programme page is computed through
its selector once and stored for `CACHE_SECONDS`, under a key that includes the rollup's refresh
time, so a refresh shows at once. The Celery task warms the usual ones after each refresh.

The cache is an optimisation, never a dependency (`kuaiban.optional_cache`): with the cache
(Redis) unreachable, a page is computed from the database, the outage logged once, and the pages
say so.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from django.utils import timezone

from kuaiban import optional_cache
from kuaiban.catalog.models import District

from .models import RollupState
from .rollups import rollup_state
from .selectors.common import Period, default_period, filters_cleaned
from .selectors.dashboard import Dashboard, dashboard
from .selectors.programme import ProgrammeStatus, programme_status

CACHE_SECONDS = 300


def _stamp(state: RollupState | None) -> str:
    return state.refreshed_at.isoformat() if state and state.refreshed_at else "never"


def _dashboard_key(filters: dict, period: Period, state: RollupState | None) -> str:
    raw = json.dumps(
        [sorted(filters.items()), period.start.isoformat(), period.end.isoformat(), _stamp(state)]
    )
    return "acceptance:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _cache_get(key: str):
    return optional_cache.get(key)


def _cache_set(key: str, value) -> None:
    optional_cache.set(key, value, CACHE_SECONDS)


def dashboard_cached(filters: dict | None, period: Period) -> Dashboard:
    """`selectors.dashboard.dashboard`, served from the cache (`from_cache` set) when the same
    dashboard was computed since the last refresh, else computed and kept."""
    filters = filters_cleaned(filters)
    key = _dashboard_key(filters, period, rollup_state())
    cached = _cache_get(key)
    if cached is not None:
        cached.from_cache = True
        return cached
    board = dashboard(filters, period)
    _cache_set(key, board)
    return board


def programme_cached(year: int) -> ProgrammeStatus:
    """`selectors.programme.programme_status` for `year` as of today, from the cache when it was
    computed today since the last refresh, else computed and kept."""
    today = timezone.localdate()
    key = f"acceptance:programme:{year}:{today.isoformat()}:{_stamp(rollup_state())}"
    status = _cache_get(key)
    if status is None:
        status = programme_status(year, today=today)
        _cache_set(key, status)
    return status


def dashboards_warm(today: date | None = None) -> int:
    """After a refresh: compute the dashboards supervisors open first (the default period, the
    whole city and each district) and this year's programme page into the cache. Returns how
    many pages."""
    period = default_period(today)
    scopes: list[dict[str, int]] = [{}] + [
        {"district": pk} for pk in District.objects.values_list("pk", flat=True)
    ]
    for filters in scopes:
        dashboard_cached(filters, period)
    programme_cached((today or timezone.localdate()).year)
    return len(scopes) + 1
