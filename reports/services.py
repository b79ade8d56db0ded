"""Export jobs and leader reports: the state changes a supervisor asks for.

An export is a row (`ExportJob`) and a Celery task queued when the row is committed; the task
runs `jobs.export_run` (see there how a re-delivered or doubled run writes one file). The owner
may cancel a queued or running export (its run stops at its next chunk) and run a failed,
cancelled or expired one again (a new job with the same parameters).

Broker unreachable when the job is queued (one bounded attempt, `kuaiban.broker.publish`): the
job stays queued in the database, its page says so, and the sweeper sends it again once the
broker is back (a queued job nobody picked up). It is never run inline: a 100 k-row export takes
~30 s and would hold the request and a web worker for that long. Without a broker (the demo,
KUAIBAN_EXPORTS_RUN_BY_TIMERS) the request only queues the job and the timer process runs it
(`reports.run_queued_exports`); tests that set `task_always_eager` run the task at commit.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from acceptance.selectors.common import Period
from acceptance.selectors.drilldown import DRILL_FIGURES
from kuaiban import broker

from .models import ExportJob, ExportKind, ExportStatus, LeaderReport
from .tasks import run_export


def export_parameters(*, kind: str, filters: dict, period: Period, figure: str = "") -> dict:
    if kind not in ExportKind.values:
        raise ValueError(f"unknown export kind {kind!r}")
    if kind == ExportKind.CASES and figure not in DRILL_FIGURES:
        raise ValueError(f"unknown figure {figure!r}")
    parameters = {
        "filters": {k: v for k, v in filters.items() if v is not None and v != ""},
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    if kind == ExportKind.CASES:
        parameters["figure"] = figure
    return parameters


def export_request(
    *, user, kind: str, filters: dict, period: Period, figure: str = ""
) -> ExportJob:
    """Create the job and queue its task once the row is committed."""
    parameters = export_parameters(kind=kind, filters=filters, period=period, figure=figure)
    with transaction.atomic():
        job = ExportJob.objects.create(user=user, kind=kind, parameters=parameters)
        _queue(job)
    return job


def _queue(job: ExportJob) -> None:
    if settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS:  # no broker: the timer process runs queued jobs
        return

    def enqueue() -> None:
        job.queue_unreachable = not export_enqueue(job.pk)

    transaction.on_commit(enqueue)


def export_enqueue(job_id: int) -> bool:
    """Send the job's task; False when the broker is unreachable (the job stays queued)."""
    return broker.publish(run_export, (job_id,))


def _own_locked(job: ExportJob, user) -> ExportJob:
    locked = ExportJob.objects.select_for_update().get(pk=job.pk)
    if locked.user_id != user.pk:
        raise PermissionDenied
    return locked


def export_cancel(*, job: ExportJob, user) -> bool:
    """The owner stops a queued or running export. Its run stops at its next chunk and removes
    its temporary files (a run being finished holds the row: the cancel waits and then finds the
    job done). False when the job had already finished."""
    with transaction.atomic():
        locked = _own_locked(job, user)
        if not locked.can_cancel:
            return False
        locked.status = ExportStatus.CANCELLED
        locked.run_token = ""  # the running run no longer owns the job
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "run_token", "finished_at"])
    return True


def export_retry(*, job: ExportJob, user) -> ExportJob | None:
    """The owner runs a failed, cancelled or expired export again: a new job with the same
    parameters (an overdue list is as of the new run). A job is retried once: asking again
    returns the run the first retry started. None when the job may not be retried."""
    with transaction.atomic():
        locked = _own_locked(job, user)
        again = ExportJob.objects.filter(retry_of=locked).first()
        if again is not None:
            return again
        if not locked.can_retry:
            return None
        again = ExportJob.objects.create(
            user=locked.user, kind=locked.kind, parameters=locked.parameters, retry_of=locked
        )
        _queue(again)
    return again


# -- leader reports --------------------------------------------------------------------------


def leader_report_save(
    *,
    author,
    period: Period,
    filters: dict,
    next_steps: str,
    report: LeaderReport | None = None,
) -> LeaderReport:
    """Create a report, or update the next steps of an existing one (its period and filters stay
    as they were)."""
    if report is None:
        return LeaderReport.objects.create(
            author=author,
            period_start=period.start,
            period_end=period.end,
            filters={k: v for k, v in filters.items() if v is not None and v != ""},
            next_steps=next_steps,
        )
    report.next_steps = next_steps
    report.save(update_fields=["next_steps", "updated_at"])
    return report
