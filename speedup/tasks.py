"""Celery tasks: thin wrappers around the services, run by beat (see kuaiban/celery.py)."""

from celery import shared_task

from kuaiban.notifications.services import notifications_dispatch

from .services import deadlines_sweep


@shared_task(name="speedup.sweep_deadlines", acks_late=True, ignore_result=True)
def sweep_deadlines() -> int:
    return deadlines_sweep().total


@shared_task(name="speedup.dispatch_notifications", acks_late=True, ignore_result=True)
def dispatch_notifications() -> int:
    return notifications_dispatch()


@shared_task(name="speedup.recompute_deadlines", acks_late=True, ignore_result=True)
def recompute_deadlines(provisional_only: bool = False) -> int:
    from kuaiban.cases.review import open_clocks_recompute

    return open_clocks_recompute(provisional_only=provisional_only)


def enqueue_recompute() -> bool:
    """Ask a worker to recompute open clocks after a calendar edit. With the broker down the
    edit still stands; the daily run (or `manage.py recompute_deadlines`) catches up."""
    try:
        recompute_deadlines.delay()
    except Exception as error:  # broker unreachable: never fail the administrator's save
        import logging

        logging.getLogger(__name__).warning("recompute not queued: %s", error)
        return False
    return True
