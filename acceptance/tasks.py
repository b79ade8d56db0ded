"""Celery tasks: thin wrappers around the services, run by beat (see kuaiban/celery.py)."""

from celery import shared_task

from .page_cache import dashboards_warm
from .rollups import RECENT_DAYS, rollup_refresh


@shared_task(name="acceptance.refresh_rollups", acks_late=True, ignore_result=True)
def refresh_rollups(days: int = RECENT_DAYS) -> int:
    """Rebuild the (day, item) groups of the supervision rollup that a change since the last run
    touched, then compute the dashboards supervisors open first into the cache. Idempotent: running
    it twice, or twice at once, gives the same rows."""
    rows = rollup_refresh(days=days).rows
    dashboards_warm()
    return rows
