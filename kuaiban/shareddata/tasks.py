"""Celery task of shared data (autodiscovered): beat's retry of the records whose source was
unavailable (kuaiban/celery.py; `manage.py run_timers` runs the same schedule)."""

from celery import shared_task

from .services import shared_data_retry


@shared_task(name="shareddata.retry_pending", acks_late=True, ignore_result=True)
def retry_pending() -> int:
    return shared_data_retry()
