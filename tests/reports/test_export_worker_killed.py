"""End to end: real Celery workers on Redis run an export of 3,000 rows and are killed with
SIGKILL in the middle of it, once while streaming rows and once while the workbook is being
saved (its `.part` file on disk). The next worker's sweeper re-queues the job: it ends done with
one complete workbook, never stuck running, and no `.part` file remains."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import openpyxl
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from acceptance.selectors.common import Period
from acceptance.selectors.drilldown import cases_behind
from devtools.history import history_generate
from reports.models import ExportJob, ExportStatus
from reports.services import export_request
from tests.factories import UserFactory

# The workers run the real code, slowed so that a kill lands in the middle of the export: 100
# rows a chunk, a short pause after each progress update, and the saved `.part` file kept for a
# moment before it is moved to its final name.
SLOW_WORKER = """
import sys, time
import django
django.setup()
from reports import exports
exports.CHUNK = 100
stream, save = exports.stream, exports.Book.save
def slow_stream(sheet, rows, make, *, tick=None):
    def slow_tick(written):
        tick(written)
        time.sleep(0.05)
    return stream(sheet, rows, make, tick=slow_tick)
def slow_save(self, path):
    save(self, path)
    time.sleep(1.5)
exports.stream, exports.Book.save = slow_stream, slow_save
from celery.__main__ import main
sys.exit(main())
"""


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A Celery worker (with beat when asked) in its own process group, logging to a file."""

    def __init__(self, name: str, tmp_path: Path, *, beat: bool) -> None:
        self.log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": django_settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "kuaiban.settings.test",
            "KUAIBAN_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
            "KUAIBAN_EXPORT_STALE_SECONDS": "5",
            "KUAIBAN_EXPORT_SWEEP_SECONDS": "1",
            "KUAIBAN_EXPORT_REQUEUES": "5",
            "KUAIBAN_CELERY_VISIBILITY_TIMEOUT": "30",
            "KUAIBAN_SWEEP_SECONDS": "3600",  # no deadline sweeps in this test
            "KUAIBAN_ROLLUP_SECONDS": "3600",
        }
        args = ["-A", "kuaiban", "worker", "--pool=solo", "--loglevel=INFO"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            args += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SLOW_WORKER, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a kill reaches an embedded beat too
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_for(condition, worker: Worker, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert worker.process.poll() is None, worker.output()
        time.sleep(0.05)
    raise AssertionError(f"timed out\n{worker.output()}")


def test_an_export_whose_workers_are_killed_ends_done_with_one_complete_workbook(
    committed_db, tmp_path
):
    assert connection.vendor == "postgresql", "run through scripts/test: PostgreSQL and Redis"
    assert django_settings.REDIS_URL, "run through scripts/test: PostgreSQL and Redis"
    assert not django_settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS
    history_generate(cases=3000, seed=17, open_share=0.1)
    today = timezone.localdate()
    period = Period(today - timedelta(days=3 * 366 - 2), today)
    expected = cases_behind("received", {}, period).count()
    assert expected == 3000
    folder = Path(django_settings.MEDIA_ROOT) / "exports"

    def job() -> ExportJob:
        return ExportJob.objects.get()

    first = Worker("first", tmp_path, beat=False)
    workers = [first]
    try:
        export_request(
            user=UserFactory(supervisor=True),
            kind="cases",
            filters={},
            period=period,
            figure="received",
        )
        # Killed while streaming rows.
        wait_for(lambda: job().progress > 0, first)
        first.kill()
        killed = job()
        assert killed.status == ExportStatus.RUNNING and 0 < killed.progress < 100, first.output()

        # The next worker's sweeper re-queues it; killed again while saving the workbook.
        second = Worker("second", tmp_path, beat=True)
        workers.append(second)
        parts = wait_for(lambda: list(folder.glob("*.part")), second)
        second.kill()
        assert job().status == ExportStatus.RUNNING, second.output()
        assert [p.exists() for p in parts] == [True]

        # A third worker finishes it.
        third = Worker("third", tmp_path, beat=True)
        workers.append(third)
        wait_for(lambda: job().status not in (ExportStatus.QUEUED, ExportStatus.RUNNING), third)
        time.sleep(2)  # a few more sweeps: nothing may change
    finally:
        for worker in workers:
            worker.stop()

    done = job()
    assert done.status == ExportStatus.DONE, (done.error, third.output())
    assert done.rows_written == done.total_rows == expected and done.progress == 100
    assert done.requeues in (1, 2)  # the sweeper re-queued it (a message Redis handed out
    # again after the visibility timeout may have taken over the other time)
    assert sorted(p.name for p in folder.iterdir()) == [f"job-{done.pk}.xlsx"]
    book = openpyxl.load_workbook(folder / f"job-{done.pk}.xlsx", read_only=True)
    rows = list(book["案件清单"].iter_rows(values_only=True))
    assert rows[0][0] == "申请编号" and len(rows) - 1 == expected
