"""Celery tasks of the reports (autodiscovered; no beat timer: queued per export request)."""

from celery import shared_task

from .jobs import export_run


# acks_late + reject_on_worker_lost: a worker killed mid-export leaves the message unacknowledged
# and the job runs again; `export_run` makes the second run take over and write the one file.
@shared_task(
    name="reports.run_export", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def run_export(job_id: int) -> int:
    job = export_run(job_id)
    return job.rows_written if job else 0
