"""Export jobs never stay stuck: the sweeper (re-queue a silent run, fail it after the limit,
expire old files, remove leftovers), cancel and retry by the owner only, the owner told once, and
without a broker (the demo) the request only queues the export and the timer process runs it."""

import io
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from devtools.history import history_generate
from kuaiban.notifications.models import Notification
from reports import exports
from reports.jobs import FAILED, INTERRUPTED, NOT_PICKED_UP, export_run, exports_sweep
from reports.models import ExportJob, ExportStatus
from reports.services import export_cancel
from reports.tasks import run_queued_exports, sweep_stale_exports
from tests.factories import UserFactory

EVERYTHING = {"filters": {}, "figure": "received", "start": "2020-01-01", "end": "2099-01-01"}
TOKEN = "0123456789abcdef0123456789abcdef"


def folder() -> Path:
    return Path(django_settings.MEDIA_ROOT) / "exports"


def ago(seconds: float) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)


def silent() -> datetime:
    """A heartbeat older than the stale limit: its run was killed."""
    return ago(django_settings.KUAIBAN_EXPORT_STALE_SECONDS + 5)


def a_job(user, *, parameters=None, **fields) -> ExportJob:
    return ExportJob.objects.create(
        user=user, kind="cases", parameters=parameters or EVERYTHING, **fields
    )


def told(user, job: ExportJob):
    """The owner's notifications about the job (one row per channel)."""
    return Notification.objects.filter(recipient=user, link=f"/reports/exports/{job.pk}/")


class Run(threading.Thread):
    """`export_run` in its own thread and database connection, as a worker runs it."""

    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True)
        self.job_id = job_id
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            export_run(self.job_id)
        except BaseException as error:
            self.error = error
        finally:
            connection.close()


# -- the owner is told -----------------------------------------------------------------------


def test_the_owner_is_told_once_with_a_link_when_the_export_is_ready(
    supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=30, seed=4)
    job = a_job(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        export_run(job.pk)
        export_run(job.pk)  # a re-delivered task: the job is done, nobody is told again
        exports_sweep()
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.rows_written == 30
    assert sorted(told(supervisor, job).values_list("channel", flat=True)) == ["email", "in_app"]
    message = told(supervisor, job).get(channel="in_app")
    assert f"#{job.pk}" in message.body and "30" in message.body


def test_the_owner_is_told_when_the_export_fails(supervisor):
    job = a_job(supervisor, parameters={**EVERYTHING, "figure": "no-such-figure"})
    job = export_run(job.pk)
    assert job.status == ExportStatus.FAILED and job.error == FAILED
    assert told(supervisor, job).filter(channel="in_app", body__contains=FAILED).count() == 1


def test_a_failing_export_leaves_no_temporary_file(supervisor, monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # openpyxl's sheet files go here

    def broken(book, pairs):  # after every data sheet was written
        raise RuntimeError("the last sheet cannot be written")

    monkeypatch.setattr(exports.Book, "about", broken)
    job = ExportJob.objects.create(
        user=supervisor,
        kind="kpi",
        parameters={"filters": {}, "start": "2026-11-01", "end": "2026-11-28"},
    )
    job = export_run(job.pk)
    assert (job.status, job.error) == ("failed", FAILED)
    assert not list(scratch.iterdir())
    assert not list(folder().iterdir())


# -- the sweeper -----------------------------------------------------------------------------


def test_the_sweeper_requeues_a_silent_run_up_to_the_limit_then_fails_it(supervisor, settings):
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    settings.KUAIBAN_EXPORT_REQUEUES = 2
    job = a_job(supervisor, status="running", run_token=TOKEN, heartbeat_at=silent(), progress=40)
    beating = a_job(supervisor, status="running", run_token=TOKEN, heartbeat_at=ago(5))
    for attempt in (1, 2):
        assert exports_sweep().requeued == [job.pk]
        job.refresh_from_db()
        assert (job.status, job.requeues, job.run_token, job.progress) == ("queued", attempt, "", 0)
        assert exports_sweep().requeued == []  # once per silent run
        # Its next run dies as well.
        ExportJob.objects.filter(pk=job.pk).update(
            status="running", run_token=TOKEN, heartbeat_at=silent()
        )
    swept = exports_sweep()
    job.refresh_from_db()
    assert swept.requeued == [] and swept.failed == [job.pk]
    assert (job.status, job.error, job.run_token) == ("failed", INTERRUPTED, "")
    assert told(supervisor, job).filter(channel="in_app", body__contains=INTERRUPTED).count() == 1
    beating.refresh_from_db()
    assert (beating.status, beating.requeues) == ("running", 0)


def test_the_sweeper_task_sends_the_requeued_export_to_a_worker_that_finishes_it(supervisor, eager):
    history_generate(cases=20, seed=7)
    job = a_job(supervisor, status="running", run_token=TOKEN, heartbeat_at=silent())
    assert sweep_stale_exports.apply().result == {"requeued": 1}
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.requeues) == ("done", 20, 1)
    assert sorted(p.name for p in folder().iterdir()) == [f"job-{job.pk}.xlsx"]


def test_a_queued_export_nobody_picks_up_is_requeued_then_failed_but_not_in_the_demo(
    supervisor, settings
):
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    settings.KUAIBAN_EXPORT_REQUEUES = 1
    waited = ago(settings.KUAIBAN_EXPORT_QUEUED_SECONDS + 5)
    lost = a_job(supervisor, queued_at=waited)
    a_job(supervisor)  # just queued
    assert exports_sweep().requeued == [lost.pk]
    ExportJob.objects.filter(pk=lost.pk).update(queued_at=waited)
    assert exports_sweep().failed == [lost.pk]
    lost.refresh_from_db()
    assert (lost.status, lost.error) == ("failed", NOT_PICKED_UP)

    # The demo's queue is the table: its jobs wait for the timer process, however long.
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = True
    waiting = a_job(supervisor, queued_at=waited)
    swept = exports_sweep()
    assert swept.requeued == swept.failed == []
    waiting.refresh_from_db()
    assert (waiting.status, waiting.requeues) == ("queued", 0)


def test_the_sweeper_removes_leftover_files_and_expires_old_exports(client, supervisor):
    folder().mkdir(parents=True)
    running = a_job(supervisor, status="running", run_token=TOKEN, heartbeat_at=ago(1))
    cancelled = a_job(supervisor, status="cancelled")
    failed = a_job(supervisor, status="failed")
    recent = a_job(supervisor, status="done", finished_at=ago(60))
    old = a_job(supervisor, status="done", finished_at=ago(8 * 24 * 3600))
    for done in (recent, old):
        ExportJob.objects.filter(pk=done.pk).update(file_path=f"exports/job-{done.pk}.xlsx")
    gone = ExportJob.objects.order_by("-pk").values_list("pk", flat=True)[0] + 100
    other_token = "f" * 32
    kept = [
        f"job-{running.pk}-{TOKEN}.part",  # being written
        f"job-{recent.pk}.xlsx",
        "README.txt",  # not an export's: left alone
    ]
    removed = [
        f"job-{running.pk}-{other_token}.part",  # an earlier, killed run of a running job
        f"job-{cancelled.pk}-{TOKEN}.part",
        f"job-{failed.pk}.xlsx",
        f"job-{gone}.xlsx",
        f"job-{gone}-{TOKEN}.part",
        f"job-{old.pk}.xlsx",  # past the retention period
    ]
    for name in kept + removed:
        (folder() / name).write_bytes(b"x")

    swept = exports_sweep()

    assert swept.expired == [old.pk] and swept.files_removed == len(removed)
    assert sorted(p.name for p in folder().iterdir()) == sorted(kept)
    old.refresh_from_db()
    assert (old.status, old.file_path) == ("expired", "")
    again = exports_sweep()  # nothing left to do
    assert (again.expired, again.files_removed) == ([], 0)

    # The expired job's page says so, offers to run it again and does not poll.
    client.force_login(supervisor)
    html = client.get(f"/reports/exports/{old.pk}/").content.decode()
    assert 'data-testid="job-ended"' in html and 'data-testid="retry-export"' in html
    assert 'id="job-refresh"' not in html
    status = client.get(f"/reports/exports/{old.pk}/status.json").json()
    assert (status["status"], status["finished"], status["download"]) == ("expired", True, None)
    assert client.get(f"/reports/exports/{old.pk}/download").status_code == 404


def test_two_sweepers_at_once_requeue_each_run_once_and_remove_each_file_once(
    committed_db, settings
):
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    owner = UserFactory(supervisor=True)
    silent_jobs = [
        a_job(owner, status="running", run_token=TOKEN, heartbeat_at=silent()) for _ in range(30)
    ]
    folder().mkdir(parents=True)
    for job in silent_jobs:
        (folder() / f"job-{job.pk}-{TOKEN}.part").write_bytes(b"partial")
    start = threading.Barrier(2)
    results = []

    def sweep() -> None:
        try:
            start.wait(10)
            results.append(exports_sweep())
        finally:
            connection.close()

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in sweepers:
        thread.start()
    for thread in sweepers:
        thread.join(60)
    assert len(results) == 2
    requeued = [pk for swept in results for pk in swept.requeued]
    assert sorted(requeued) == sorted(job.pk for job in silent_jobs)
    assert set(owner.export_jobs.values_list("status", "requeues")) == {("queued", 1)}
    assert sum(swept.files_removed for swept in results) == len(silent_jobs)
    assert not list(folder().iterdir())


# -- cancel and retry ------------------------------------------------------------------------


@pytest.fixture
def paused_after_the_first_chunk(monkeypatch):
    """The export pauses after its first chunk of 10 rows until `go` is set."""
    monkeypatch.setattr(exports, "CHUNK", 10)
    ticked, go = threading.Event(), threading.Event()
    real_stream = exports.stream

    def paused(sheet, rows, make, *, tick=None):
        def tick_then_wait(written: int) -> None:
            tick(written)
            if written == 10:
                ticked.set()
                go.wait(30)

        return real_stream(sheet, rows, make, tick=tick_then_wait)

    monkeypatch.setattr(exports, "stream", paused)
    return ticked, go


@pytest.mark.parametrize("interruption", ["cancelled by its owner", "re-queued by the sweeper"])
def test_an_interrupted_run_stops_at_its_next_chunk_and_leaves_no_temporary_file(
    committed_db, settings, monkeypatch, tmp_path, paused_after_the_first_chunk, interruption
):
    ticked, go = paused_after_the_first_chunk
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # openpyxl's sheet files go here
    history_generate(cases=60, seed=3)
    owner = UserFactory(supervisor=True)
    job = a_job(owner)

    run = Run(job.pk)
    assert ticked.wait(30)
    assert list(scratch.iterdir()), "the run writes its sheet to a temporary file"
    if interruption == "cancelled by its owner":
        assert export_cancel(job=job, user=owner)
    else:
        settings.KUAIBAN_EXPORT_STALE_SECONDS = 0
        assert exports_sweep().requeued == [job.pk]
    go.set()
    run.join(30)

    assert run.error is None and not run.is_alive()
    job.refresh_from_db()
    if interruption == "cancelled by its owner":
        assert (job.status, job.rows_written, job.run_token) == ("cancelled", 10, "")
    else:
        assert (job.status, job.rows_written, job.run_token) == ("queued", 0, "")
    assert not list(scratch.iterdir())
    assert not folder().exists() or not list(folder().iterdir())
    assert not told(owner, job).exists()


def test_a_cancel_while_the_workbook_is_saved_leaves_no_file(committed_db, monkeypatch):
    history_generate(cases=20, seed=5)
    owner = UserFactory(supervisor=True)
    saved, go = threading.Event(), threading.Event()
    real_save = exports.Book.save

    def save_then_wait(self, path_or_file) -> None:
        real_save(self, path_or_file)
        saved.set()
        go.wait(30)

    monkeypatch.setattr(exports.Book, "save", save_then_wait)
    job = a_job(owner)
    run = Run(job.pk)
    assert saved.wait(30)
    assert [p.suffix for p in folder().iterdir()] == [".part"]
    assert export_cancel(job=job, user=owner)
    go.set()
    run.join(30)

    assert run.error is None
    job.refresh_from_db()
    assert (job.status, job.file_path) == ("cancelled", "")
    assert not list(folder().iterdir())


def test_the_owner_cancels_an_export_and_runs_it_again(
    client, supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=25, seed=6)
    job = a_job(supervisor)  # queued: its worker has not started yet
    client.force_login(supervisor)
    page = f"/reports/exports/{job.pk}/"
    assert 'data-testid="cancel-export"' in client.get(page).content.decode()

    response = client.post(f"{page}cancel", follow=True)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.finished_at is not None
    html = response.content.decode()
    assert '<li class="success">' in html and 'data-testid="job-ended"' in html
    assert 'data-testid="retry-export"' in html and 'id="job-refresh"' not in html
    assert client.get(f"{page}status.json").json()["finished"] is True
    assert export_run(job.pk).status == "cancelled"  # its task, delivered late, does nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{page}retry")
    again = ExportJob.objects.get(retry_of=job)
    assert response.status_code == 302 and response["Location"] == f"/reports/exports/{again.pk}/"
    assert (again.kind, again.parameters) == (job.kind, job.parameters)
    assert (again.status, again.rows_written) == ("done", 25)
    download = client.get(f"/reports/exports/{again.pk}/download")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book["案件清单"].max_row == 26
    # A second click opens the run the first one started.
    response = client.post(f"{page}retry")
    assert response["Location"] == f"/reports/exports/{again.pk}/"
    assert ExportJob.objects.count() == 2
    assert 'data-testid="retried-as"' in client.get(page).content.decode()

    # A finished export is not cancelled, and a done one not run again.
    html = client.post(f"/reports/exports/{again.pk}/cancel", follow=True).content.decode()
    again.refresh_from_db()
    assert again.status == "done" and '<li class="info">' in html
    client.post(f"/reports/exports/{again.pk}/retry")
    assert ExportJob.objects.count() == 2


def test_only_the_owner_cancels_or_retries_and_only_by_post(client, supervisor):
    queued = a_job(supervisor)
    failed = a_job(supervisor, status="failed", error=FAILED)
    client.force_login(UserFactory(supervisor=True))
    assert client.post(f"/reports/exports/{queued.pk}/cancel").status_code == 404
    assert client.post(f"/reports/exports/{failed.pk}/retry").status_code == 404
    queued.refresh_from_db()
    assert queued.status == "queued" and ExportJob.objects.count() == 2
    client.force_login(supervisor)
    assert client.get(f"/reports/exports/{queued.pk}/cancel").status_code == 405
    assert client.get(f"/reports/exports/{failed.pk}/retry").status_code == 405
    html = client.get(f"/reports/exports/{failed.pk}/").content.decode()
    assert 'data-testid="retry-export"' in html and 'data-testid="cancel-export"' not in html


# -- without a broker (the demo) -------------------------------------------------------------


def test_without_a_broker_the_request_queues_the_export_and_the_timer_process_runs_it(
    client, supervisor, settings, django_capture_on_commit_callbacks
):
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = True
    history_generate(cases=40, seed=8)
    client.force_login(supervisor)
    today = timezone.localdate()
    start = today - timedelta(days=3 * 366 - 2)  # the whole generated history
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            "/reports/exports/",
            {"kind": "cases", "figure": "received", "start": start, "end": today},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and not callbacks  # nothing sent, nothing run
    assert (job.status, job.rows_written) == ("queued", 0)
    html = client.get(response["Location"]).content.decode()
    assert 'id="job-refresh"' in html and 'data-testid="cancel-export"' in html  # it polls
    assert client.get(f"/reports/exports/{job.pk}/status.json").json()["finished"] is False

    out = io.StringIO()
    call_command("run_timers", "--once", stdout=out, stderr=io.StringIO())

    job.refresh_from_db()
    assert (job.status, job.rows_written) == ("done", 40)
    assert "run-queued-exports: 1" in out.getvalue()
    status = client.get(f"/reports/exports/{job.pk}/status.json").json()
    assert status["finished"] is True and status["download"]


def test_with_a_broker_the_runner_of_queued_exports_does_nothing(supervisor, settings):
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    job = a_job(supervisor)
    assert run_queued_exports.apply().result == 0
    job.refresh_from_db()
    assert job.status == "queued"
