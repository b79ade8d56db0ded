"""Celery tasks of the reports (autodiscovered): an export's run, queued per request, and two
beat timers (kuaiban/celery.py): the sweeper, and the demo's runner of queued exports."""

from celery import shared_task
from django.conf import settings

from kuaiban import broker

from .jobs import export_run, exports_run_queued, exports_sweep
from .schedules import scheduled_reports_issue


# acks_late + reject_on_worker_lost: a worker killed mid-export leaves the message unacknowledged
# and Redis hands it out again after the visibility timeout; the sweeper re-queues the job sooner
# (its heartbeat stops). `export_run` lets one run own the job and write the one file.
@shared_task(
    name="reports.run_export", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def run_export(job_id: int) -> int:
    job = export_run(job_id)
    return job.rows_written if job else 0


@shared_task(name="reports.sweep_stale_exports", ignore_result=True)
def sweep_stale_exports() -> dict[str, int]:
    """Re-queue what a killed worker left running, fail what keeps dying, delete old files."""
    swept = exports_sweep()
    if not settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS:  # the demo's runner picks them up itself
        for job_id in swept.requeued:
            broker.publish(run_export, (job_id,))
    return swept.summary()


@shared_task(name="reports.run_queued_exports", ignore_result=True)
def run_queued_exports() -> int:
    """Without a broker (the demo's `run_timers`) run the queued exports in this process: the
    web request only queued them. With a broker the workers run them and this does nothing (a
    lost message is the sweeper's: it re-queues a job nobody picked up)."""
    if not settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS:
        return 0
    return exports_run_queued()


@shared_task(name="reports.issue_scheduled_reports", ignore_result=True)
def issue_scheduled_reports() -> int:
    """Issue the leaders' reports whose week or month has ended (idempotent: hourly is fine)."""
    return scheduled_reports_issue()
