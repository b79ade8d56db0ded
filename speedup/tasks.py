"""Celery tasks: thin wrappers around the services, run by beat (see kuaiban/celery.py), and the
deadline engine's answer to a calendar change (registered in `SpeedupConfig.ready`)."""

import logging

from celery import shared_task

from kuaiban.workdays.services import CalendarChange

from .services.recompute import open_clocks_recompute
from .services.sweep import deadlines_sweep

logger = logging.getLogger(__name__)


@shared_task(name="speedup.sweep_deadlines", acks_late=True, ignore_result=True)
def sweep_deadlines() -> int:
    return deadlines_sweep().total


@shared_task(name="speedup.recompute_deadlines", acks_late=True, ignore_result=True)
def recompute_deadlines(provisional_only: bool = False) -> int:
    return open_clocks_recompute(provisional_only=provisional_only)


def recompute_after_calendar_change(change: CalendarChange) -> bool:
    """Recompute the open clocks a calendar change can move: only the provisional ones when
    whole years were loaded. In the background a worker does it; with the broker down the edit
    still stands and the daily run (or `manage.py recompute_deadlines`) catches up."""
    provisional_only = change.only_new_years
    if not change.background:
        open_clocks_recompute(provisional_only=provisional_only)
        return True
    try:
        recompute_deadlines.delay(provisional_only=provisional_only)
    except Exception as error:  # broker unreachable: never fail the administrator's save
        logger.warning("recompute not queued: %s", error)
        return False
    return True
