"""Export jobs and leader reports: the state changes a supervisor asks for.

An export is a row (`ExportJob`) and a Celery task queued when the row is committed; the task
runs `jobs.export_run` (see there how a re-delivered or doubled run writes one file).

Broker unreachable when the job is queued: the job is marked failed at once with a clear message
(the page says to try again later). It is not run inline: a 100 k-row export takes ~30 s and
would hold the request and a web worker for that long. Without REDIS_URL (the demo, and tests that
set `task_always_eager`) Celery runs the task in-process, at commit.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from acceptance.selectors.common import Period
from acceptance.selectors.drilldown import DRILL_FIGURES

from .models import ExportJob, ExportKind, ExportStatus, LeaderReport
from .tasks import run_export

logger = logging.getLogger(__name__)
BROKER_DOWN = "后台任务服务暂时不可用，导出未能开始，请稍后重试。(The job queue is unreachable.)"


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
        transaction.on_commit(lambda: export_enqueue(job.pk))
    return job


def export_enqueue(job_id: int) -> bool:
    try:
        run_export.apply_async((job_id,), retry=False)
    except Exception as error:  # the broker is unreachable: say so on the job's page
        logger.warning("export %s not queued: %s", job_id, error)
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.FAILED, error=BROKER_DOWN, finished_at=timezone.now()
        )
        return False
    return True


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
