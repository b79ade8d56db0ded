"""Running an export job (the body of the `reports.run_export` task) and finding its file.

The run is idempotent and safe to deliver twice (acks_late: a killed worker's job runs again):

- it claims the job with a conditional UPDATE that gives it a fresh run token (a finished job is
  left alone, so a re-delivered task for a done job does nothing);
- it writes to a temporary file named after its token, and every progress update is a
  conditional UPDATE on that token: a run that was taken over stops at its next chunk;
- at the end it moves the file to the job's one final name (`exports/job-<id>.xlsx`,
  overwritten by a re-run) and marks the job done, again only if it still owns the job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from acceptance.page_cache import dashboard_cached
from acceptance.selectors.common import Period

from . import exports
from .models import ExportJob, ExportKind, ExportStatus
from .selectors import export_queryset, figure_label, filters_described

logger = logging.getLogger(__name__)
EXPORT_DIR = "exports"
FAILED = "导出失败，请重试或联系管理员。(The export failed.)"


class Superseded(Exception):
    """Another run of the same job took it over."""


def _media(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def job_file(job: ExportJob) -> Path | None:
    """The finished file of a done job, if it is there."""
    if job.status != ExportStatus.DONE or not job.file_path:
        return None
    path = _media(job.file_path)
    return path if path.is_file() else None


def download_name(job: ExportJob) -> str:
    p = job.parameters
    stem = {"cases": "案件清单", "overdue": "超期案件", "kpi": "指标表", "flags": "预警记录"}
    name = stem.get(job.kind, "导出")
    if job.kind == ExportKind.CASES:
        name += "-" + p.get("figure", "")
    if job.kind != ExportKind.OVERDUE:
        name += f"-{p.get('start', '')}至{p.get('end', '')}"
    return f"{name}-{job.pk}.xlsx"


def job_period(job: ExportJob) -> Period:
    p = job.parameters
    return Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))


def _about(job: ExportJob, period: Period) -> list[tuple[str, object]]:
    p = job.parameters
    pairs: list[tuple[str, object]] = [("导出内容", str(ExportKind(job.kind).label))]
    if job.kind == ExportKind.CASES:
        pairs.append(("指标", figure_label(p["figure"])))
    if job.kind == ExportKind.OVERDUE:
        pairs.append(("截至", exports.local(job.created_at)))
    else:
        pairs.append(("统计期间", f"{period.start.isoformat()} 至 {period.end.isoformat()}"))
    pairs += filters_described(p.get("filters", {})) or [("筛选条件", "全市")]
    pairs += [
        ("导出人", str(job.user)),
        ("导出时间", exports.local(timezone.now())),
        ("个人信息", "按默认导出规则脱敏：不含身份证号、手机号、银行账号；申请人姓名仅显示姓氏。"),
    ]
    return pairs


def export_run(job_id: int) -> ExportJob | None:
    """Write the job's workbook (the task's body). Safe to run again, and twice at once."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING)
    ).update(
        status=ExportStatus.RUNNING,
        run_token=token,
        started_at=now,
        progress=0,
        rows_written=0,
        error="",
    )
    if not claimed:  # done, failed or gone: nothing to do
        return ExportJob.objects.filter(pk=job_id).first()
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    folder = _media(EXPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    final = f"{EXPORT_DIR}/job-{job.pk}.xlsx"
    part = folder / f"job-{job.pk}-{token}.part"
    for stale in folder.glob(f"job-{job.pk}-*.part"):  # a killed run's leftovers
        stale.unlink(missing_ok=True)
    mine = ExportJob.objects.filter(pk=job.pk, run_token=token)
    try:
        rows = _write(job, part, mine)
        part.replace(_media(final))
        mine.update(
            status=ExportStatus.DONE,
            progress=100,
            rows_written=rows,
            total_rows=rows,  # what was written is the truth (cases may move during the scan)
            file_path=final,
            finished_at=timezone.now(),
        )
    except Superseded:
        logger.info("export %s taken over by another run", job.pk)
    except Exception:
        logger.exception("export %s failed", job.pk)
        mine.update(status=ExportStatus.FAILED, error=FAILED, finished_at=timezone.now())
    finally:
        part.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _write(job: ExportJob, path: Path, mine) -> int:
    p = job.parameters
    filters = p.get("filters", {})
    period = job_period(job)
    if job.kind == ExportKind.KPI:
        board = dashboard_cached(filters, period)
        written = exports.write_kpi(path, board, _about(job, period))
        mine.update(total_rows=written)
        return written
    queryset = export_queryset(
        job.kind, filters=filters, period=period, figure=p.get("figure", ""), now=job.created_at
    )
    total = queryset.count()
    if not mine.update(total_rows=total):
        raise Superseded

    def tick(written: int) -> None:
        progress = min(99, written * 100 // total) if total else 99
        if not mine.update(progress=progress, rows_written=written):
            raise Superseded

    book = exports.Book()
    values: tuple[str, ...]
    if job.kind == ExportKind.FLAGS:
        sheet = book.sheet("预警记录", exports.FLAG_HEADERS)
        make, values = exports.flag_row_maker(), exports.FLAG_VALUES
    else:
        sheet = book.sheet("案件清单", exports.CASE_HEADERS)
        make, values = exports.case_row_maker(), exports.CASE_VALUES
    rows = queryset.values_list(*values).iterator(chunk_size=exports.CHUNK)
    try:
        written = exports.stream(sheet, rows, make, tick=tick)
        book.about(_about(job, period))
        book.save(path)
    except BaseException:
        book.abandon()
        raise
    return written
