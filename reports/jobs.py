"""Running an export job (the body of the `reports.run_export` task), the sweeper that keeps jobs
from staying stuck, and finding a job's file.

A run is idempotent and safe to deliver twice (acks_late: a killed worker's message comes back):

- it claims the job with a conditional UPDATE that gives it a fresh run token: a queued job, or a
  running one whose run stopped beating (no heartbeat for KUAIBAN_EXPORT_STALE_SECONDS). A
  finished job, or one that another run is working on, is left alone;
- every progress update is a conditional UPDATE on that token and beats the heartbeat: a run
  whose job was cancelled, re-queued by the sweeper or taken over stops at its next chunk;
- it writes to a temporary file named after its token and, holding the job's row lock, moves it
  to the job's one final name (`exports/job-<id>.xlsx`) and marks the job done, only if it still
  owns the job (a cancel waits for that lock, so a cancelled job never gets a file);
- its temporary files (the `.part` file, openpyxl's sheet files) are removed on every way out; a
  killed run's `.part` file is removed by the job's next run or by the sweeper (its openpyxl
  files stay in the worker's TMPDIR: run workers with a private temporary directory cleaned at
  start, e.g. systemd's PrivateTmp).

The owner is told once, when the job is done or has failed: the transition happens once, and the
notification is written in its transaction.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from acceptance.page_cache import dashboard_cached
from acceptance.selectors.common import Period
from kuaiban.notifications.services import notify

from . import exports
from .models import ExportJob, ExportKind, ExportStatus
from .selectors import export_queryset, figure_label, filters_described, rating_groups

logger = logging.getLogger(__name__)
EXPORT_DIR = "exports"
FAILED = "导出失败，请重试或联系管理员。(The export failed.)"
INTERRUPTED = "导出多次中断（后台处理进程停止），未能完成，请重试。(Interrupted too often.)"
NOT_PICKED_UP = "导出长时间无人处理（后台任务服务未运行），请稍后重试。(No worker took it.)"
PART_FILE = re.compile(r"job-(\d+)-([0-9a-f]{32})\.part")
FINAL_FILE = re.compile(r"job-(\d+)\.xlsx")
# A final file is kept while its job is queued, running (being finished) or done.
WITHOUT_FILE = (ExportStatus.FAILED, ExportStatus.CANCELLED, ExportStatus.EXPIRED)


class Superseded(Exception):
    """This run no longer owns its job: cancelled, re-queued by the sweeper or taken over."""


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


def _silent(now: datetime) -> Q:
    """Running, but its run has stopped beating (a killed worker): another run may take over."""
    cutoff = now - timedelta(seconds=settings.KUAIBAN_EXPORT_STALE_SECONDS)
    return Q(status=ExportStatus.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )


def export_run(job_id: int) -> ExportJob | None:
    """Write the job's workbook (the task's body). Safe to run again, and twice at once."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        ExportJob.objects.filter(pk=job_id)
        .filter(Q(status=ExportStatus.QUEUED) | _silent(now))
        .update(
            status=ExportStatus.RUNNING,
            run_token=token,
            started_at=now,
            heartbeat_at=now,
            progress=0,
            rows_written=0,
            error="",
        )
    )
    if not claimed:  # finished, gone, or another run is working on it: nothing to do
        return ExportJob.objects.filter(pk=job_id).first()
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    folder = _media(EXPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    final = f"{EXPORT_DIR}/job-{job.pk}.xlsx"
    part = folder / f"job-{job.pk}-{token}.part"
    for stale in folder.glob(f"job-{job.pk}-*.part"):  # a killed run's leftovers
        stale.unlink(missing_ok=True)
    mine = ExportJob.objects.filter(pk=job.pk, run_token=token, status=ExportStatus.RUNNING)
    try:
        rows = _write(job, part, mine)
        _finish(job, mine, part=part, final=final, rows=rows)
    except Superseded:
        logger.info("export %s: stopped (cancelled, re-queued or taken over)", job.pk)
    except Exception:
        logger.exception("export %s failed", job.pk)
        with transaction.atomic():
            if mine.update(status=ExportStatus.FAILED, error=FAILED, finished_at=timezone.now()):
                _tell_owner(job, ExportStatus.FAILED, error=FAILED)
    finally:
        part.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _finish(job: ExportJob, mine, *, part: Path, final: str, rows: int) -> None:
    """Move the file to its final name and mark the job done, holding the job's row: a cancel
    or the sweeper waits, and a run that no longer owns the job leaves no file behind."""
    with transaction.atomic():
        if mine.select_for_update().only("pk").first() is None:
            raise Superseded
        part.replace(_media(final))
        now = timezone.now()
        mine.update(
            status=ExportStatus.DONE,
            progress=100,
            rows_written=rows,
            total_rows=rows,  # what was written is the truth (cases may move during the scan)
            file_path=final,
            heartbeat_at=now,
            finished_at=now,
        )
        _tell_owner(job, ExportStatus.DONE, rows=rows)


def _tell_owner(job: ExportJob, outcome: str, *, rows: int = 0, error: str = "") -> None:
    """The owner's message (in-app, e-mail per notify's defaults) linking to the job's page,
    written in Chinese first whatever language the caller runs in."""
    with translation.override(settings.LANGUAGE_CODE):
        export = _("Excel export #%(id)d (%(kind)s)") % {
            "id": job.pk,
            "kind": ExportKind(job.kind).label,
        }
        if outcome == ExportStatus.DONE:
            subject = _("Your Excel export is ready")
            body = _("%(export)s: %(rows)d rows. Download it within %(days)d days.") % {
                "export": export,
                "rows": rows,
                "days": settings.KUAIBAN_EXPORT_RETENTION_DAYS,
            }
        else:
            subject = _("Your Excel export failed")
            body = f"{export}: {error}"
    notify(
        recipient=job.user,
        subject=subject,
        body=body,
        link=reverse("reports:export", args=[job.pk]),
    )


def _write(job: ExportJob, path: Path, mine) -> int:
    p = job.parameters
    filters = p.get("filters", {})
    period = job_period(job)
    if job.kind == ExportKind.KPI:
        board = dashboard_cached(filters, period)
        groups = rating_groups(board, exports.GROUPED_DIMENSIONS)
        written = exports.write_kpi(path, board, _about(job, period), groups)
        mine.update(total_rows=written)
        return written
    queryset = export_queryset(
        job.kind, filters=filters, period=period, figure=p.get("figure", ""), now=job.created_at
    )
    total = queryset.count()
    if not mine.update(total_rows=total, heartbeat_at=timezone.now()):
        raise Superseded

    def tick(written: int) -> None:
        progress = min(99, written * 100 // total) if total else 99
        if not mine.update(progress=progress, rows_written=written, heartbeat_at=timezone.now()):
            raise Superseded

    values: tuple[str, ...]
    with exports.Book() as book:  # stopped or failing: its temporary files are removed
        if job.kind == ExportKind.FLAGS:
            sheet = book.sheet("预警记录", exports.FLAG_HEADERS)
            make, values = exports.flag_row_maker(), exports.FLAG_VALUES
        else:
            sheet = book.sheet("案件清单", exports.CASE_HEADERS)
            make, values = exports.case_row_maker(), exports.CASE_VALUES
        rows = queryset.values_list(*values).iterator(chunk_size=exports.CHUNK)
        written = exports.stream(sheet, rows, make, tick=tick)
        book.about(_about(job, period))
        book.save(path)
    return written


# -- the sweeper and the demo's runner (beat's tasks) ----------------------------------------


@dataclass
class Swept:
    requeued: list[int] = field(default_factory=list)  # need a new message (see tasks.py)
    failed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    files_removed: int = 0

    def summary(self) -> dict[str, int]:
        """What changed, for the worker's log (empty when nothing did)."""
        counts = {
            "requeued": len(self.requeued),
            "failed": len(self.failed),
            "expired": len(self.expired),
            "files_removed": self.files_removed,
        }
        return {name: count for name, count in counts.items() if count}


def exports_sweep(*, now: datetime | None = None) -> Swept:
    """No job stays stuck, no file stays behind. Called outside any transaction (by its task);
    safe to run twice at once: each job is taken under a skipped row lock, files are removed
    once.

    - a running job whose run stopped beating (a killed worker), or, with a broker, a queued job
      nobody picked up, is put back in the queue with its run token cleared (a late original run
      stops at its next chunk), at most KUAIBAN_EXPORT_REQUEUES times; then it fails with a
      message and its owner is told;
    - a done job older than KUAIBAN_EXPORT_RETENTION_DAYS is marked expired and its file deleted;
    - `.part` files not owned by a running run, and final files of jobs that have none, are
      deleted.
    """
    now = now or timezone.now()
    swept = Swept()
    _requeue_or_fail(now, swept)
    _expire(now, swept)
    swept.files_removed += _remove_orphan_files()
    return swept


def _requeue_or_fail(now: datetime, swept: Swept) -> None:
    lost = _silent(now)
    if not settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS:  # the demo's queue is the table itself
        waited = now - timedelta(seconds=settings.KUAIBAN_EXPORT_QUEUED_SECONDS)
        lost |= Q(status=ExportStatus.QUEUED, queued_at__lt=waited)
    with transaction.atomic():
        stuck = ExportJob.objects.select_for_update(skip_locked=True).filter(lost).order_by("pk")
        for job in stuck:
            if job.requeues >= settings.KUAIBAN_EXPORT_REQUEUES:
                job.error = INTERRUPTED if job.status == ExportStatus.RUNNING else NOT_PICKED_UP
                job.status = ExportStatus.FAILED
                job.run_token = ""
                job.finished_at = now
                job.save(update_fields=["error", "status", "run_token", "finished_at"])
                _tell_owner(job, ExportStatus.FAILED, error=job.error)
                swept.failed.append(job.pk)
                continue
            logger.warning("export %s re-queued (was %s)", job.pk, job.status)
            job.status = ExportStatus.QUEUED
            job.run_token = ""
            job.requeues += 1
            job.queued_at = now
            job.heartbeat_at = None
            job.progress = job.rows_written = 0
            job.save(
                update_fields=[
                    "status",
                    "run_token",
                    "requeues",
                    "queued_at",
                    "heartbeat_at",
                    "progress",
                    "rows_written",
                ]
            )
            swept.requeued.append(job.pk)


def _expire(now: datetime, swept: Swept) -> None:
    cutoff = now - timedelta(days=settings.KUAIBAN_EXPORT_RETENTION_DAYS)
    with transaction.atomic():
        old = list(
            ExportJob.objects.select_for_update(skip_locked=True)
            .filter(status=ExportStatus.DONE, finished_at__lt=cutoff)
            .only("pk", "file_path")
        )
        ExportJob.objects.filter(pk__in=[job.pk for job in old]).update(
            status=ExportStatus.EXPIRED, file_path=""
        )
    swept.expired += [job.pk for job in old]
    # After the commit: a row that still says done always has its file.
    swept.files_removed += sum(_remove(_media(job.file_path)) for job in old if job.file_path)


def _remove_orphan_files() -> int:
    folder = _media(EXPORT_DIR)
    if not folder.is_dir():
        return 0
    # Listed before the rows are read: a run claims its job (committed) before it writes a file,
    # so the rows read next know every file seen here.
    files = list(folder.iterdir())
    ids = set()
    for path in files:
        match = PART_FILE.fullmatch(path.name) or FINAL_FILE.fullmatch(path.name)
        if match:
            ids.add(int(match[1]))
    state = {
        pk: (status, token)
        for pk, status, token in ExportJob.objects.filter(pk__in=ids).values_list(
            "pk", "status", "run_token"
        )
    }
    removed = 0
    for path in files:
        if match := PART_FILE.fullmatch(path.name):
            if state.get(int(match[1])) != (ExportStatus.RUNNING, match[2]):
                removed += _remove(path)
        elif match := FINAL_FILE.fullmatch(path.name):
            job = state.get(int(match[1]))
            if job is None or job[0] in WITHOUT_FILE:
                removed += _remove(path)
    return removed


def _remove(path: Path) -> bool:
    """True if this call removed it (two sweepers never both count a file)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def exports_run_queued(*, limit: int = 5) -> int:
    """Without a broker (the demo) the timer process is the worker: it runs the oldest queued
    exports here, one after the other. Returns how many it finished."""
    queued = ExportJob.objects.filter(status=ExportStatus.QUEUED).order_by("queued_at", "pk")
    finished = 0
    for job_id in list(queued.values_list("pk", flat=True)[:limit]):
        job = export_run(job_id)
        finished += job is not None and job.is_finished
    return finished
