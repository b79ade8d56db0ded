"""Excel exports: the job (progress, rows, one file, re-runs), personal data masked in every
cell, owner-only downloads, and the KPI workbook equal to the dashboard."""

import io
import re
import time
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.drilldown import cases_behind
from devtools.history import history_generate
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import ItemCase
from reports import exports
from reports.jobs import export_run, exports_sweep
from reports.models import ExportJob, ExportStatus
from reports.services import export_request
from speedup.models import CaseFlag
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DIGITS = re.compile(r"[0-9X]{11,18}")


def whole_history() -> Period:
    today = timezone.localdate()
    return Period(today - timedelta(days=3 * 366 - 2), today)


def run_job(django_capture_on_commit_callbacks, **kwargs) -> ExportJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = export_request(**kwargs)
    job.refresh_from_db()
    return job


def workbook(job: ExportJob) -> openpyxl.Workbook:
    return openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path, read_only=True)


def personal_numbers() -> set[str]:
    numbers = set()
    for user in User.objects.filter(role__in=(Role.CITIZEN, Role.ENTERPRISE)):
        numbers.update(n for n in (user.resident_id, user.phone) if n)
    return numbers


def assert_no_personal_number(book, numbers: set[str]) -> int:
    """Every cell of every sheet: no full ID or phone number, alone or inside a text."""
    cells = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                cells += 1
                if value is None:
                    continue
                text = str(value)
                for token in DIGITS.findall(text):
                    assert token not in numbers, (sheet.title, text)
                    assert not any(n in token for n in numbers), (sheet.title, text)
    return cells


def test_an_export_of_10000_cases_has_10000_rows_and_no_personal_number(
    supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=10_000, seed=11, open_share=0.1)
    period = whole_history()
    expected = cases_behind("received", {}, period).count()
    assert expected == ItemCase.objects.count() == 10_000

    job = run_job(
        django_capture_on_commit_callbacks,
        user=supervisor,
        kind="cases",
        filters={},
        period=period,
        figure="received",
    )

    assert job.status == ExportStatus.DONE, job.error
    assert job.progress == 100
    assert job.rows_written == job.total_rows == 10_000
    book = workbook(job)
    sheet = book["案件清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "申请编号" and len(rows) - 1 == 10_000
    references = {r[0] for r in rows[1:]}
    assert len(references) == len(set(ItemCase.objects.values_list("application__reference")))
    numbers = personal_numbers()
    assert len(numbers) > 20
    assert assert_no_personal_number(book, numbers) > 10_000 * len(exports.CASE_HEADERS)
    # Citizens' names: the surname and stars only.
    names = set(
        User.objects.filter(role=Role.CITIZEN)
        .exclude(real_name="")
        .values_list("real_name", flat=True)
    )
    applicant = exports.header_texts(exports.CASE_HEADERS).index("申请人")
    shown = {r[applicant] for r in rows[1:]}
    assert not (names & shown)
    assert all(s[1:] == "*" * (len(s) - 1) for s in shown if s and "有限" not in s)


def test_personal_numbers_of_test_applicants_never_appear_in_full(
    supervisor, eager, django_capture_on_commit_callbacks
):
    """A small history plus applicants made by the factory (known numbers), every kind."""
    history_generate(cases=200, seed=5, open_share=0.5)
    citizen = UserFactory(citizen=True, real_name='=HYPERLINK("x")')
    case = ItemCase.objects.select_related("application").first()
    case.application.applicant = citizen
    case.application.save(update_fields=["applicant"])
    numbers = personal_numbers()
    assert citizen.resident_id in numbers and citizen.phone in numbers
    for kind, figure in (("cases", "received"), ("overdue", ""), ("flags", ""), ("kpi", "")):
        job = run_job(
            django_capture_on_commit_callbacks,
            user=supervisor,
            kind=kind,
            filters={},
            period=whole_history(),
            figure=figure,
        )
        assert job.status == ExportStatus.DONE, (kind, job.error)
        book = workbook(job)
        assert_no_personal_number(book, numbers)
        for sheet in book.worksheets:  # a name typed as "=…" stays text, never a formula
            for row in sheet.iter_rows():
                assert not any(c.data_type == "f" for c in row), sheet.title


def test_progress_is_updated_each_chunk_and_a_rerun_leaves_one_file(
    supervisor, eager, monkeypatch, django_capture_on_commit_callbacks
):
    history_generate(cases=60, seed=3)
    monkeypatch.setattr(exports, "CHUNK", 10)
    seen = []
    real_stream = exports.stream

    def spy(sheet, rows, make, *, tick=None):
        def watched(n):
            tick(n)
            seen.append(ExportJob.objects.values_list("progress", "rows_written").get())

        return real_stream(sheet, rows, make, tick=watched)

    monkeypatch.setattr(exports, "stream", spy)
    job = run_job(
        django_capture_on_commit_callbacks,
        user=supervisor,
        kind="cases",
        filters={},
        period=whole_history(),
        figure="received",
    )
    assert job.status == "done" and job.rows_written == job.total_rows == 60
    assert [r for _p, r in seen] == [10, 20, 30, 40, 50, 60]
    assert [p for p, _r in seen] == [16, 33, 50, 66, 83, 99]

    folder = Path(settings.MEDIA_ROOT) / "exports"
    # A re-delivered task for a finished job does nothing.
    finished = job.finished_at
    again = export_run(job.pk)
    assert again.status == "done" and again.finished_at == finished
    # A worker killed mid-run: the job is left running with a partial file and a heartbeat that
    # stopped; the re-run takes over, and there is one workbook and no partial file.
    stopped = timezone.now() - timedelta(seconds=settings.KUAIBAN_EXPORT_STALE_SECONDS + 1)
    ExportJob.objects.filter(pk=job.pk).update(
        status="running", progress=40, run_token="dead", heartbeat_at=stopped
    )
    (folder / f"job-{job.pk}-dead.part").write_bytes(b"partial")
    rerun = export_run(job.pk)
    assert rerun.status == "done" and rerun.rows_written == 60 and rerun.progress == 100
    assert sorted(p.name for p in folder.iterdir()) == [f"job-{job.pk}.xlsx"]


def test_a_superseded_run_stops_and_does_not_finish_the_job(supervisor, monkeypatch):
    history_generate(cases=30, seed=2)
    monkeypatch.setattr(exports, "CHUNK", 10)
    job = ExportJob.objects.create(
        user=supervisor,
        kind="cases",
        parameters={
            "filters": {},
            "figure": "received",
            "start": "2020-01-01",
            "end": "2099-01-01",
        },
    )
    real_stream = exports.stream

    def taken_over(sheet, rows, make, *, tick=None):
        ExportJob.objects.filter(pk=job.pk).update(run_token="another-run")
        return real_stream(sheet, rows, make, tick=tick)

    monkeypatch.setattr(exports, "stream", taken_over)
    result = export_run(job.pk)
    assert result.status == "running" and result.run_token == "another-run"
    assert not list((Path(settings.MEDIA_ROOT) / "exports").iterdir())


def test_with_the_broker_down_an_export_request_answers_fast_and_the_job_waits_queued(
    committed_db, client, settings
):
    """A real request, real commits: the job row is created, the one attempt to reach the
    broker fails fast, the job stays queued (the sweeper sends it again) and the page says so."""
    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    owner = UserFactory(supervisor=True)
    client.force_login(owner)
    client.cookies["django_language"] = "en"  # the language switch
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):  # nothing listens
        started = time.monotonic()
        response = client.post("/reports/exports/", {"kind": "kpi"}, follow=True)
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 2.0
    job = ExportJob.objects.get(user=owner)
    assert (job.status, job.error, job.finished_at) == ("queued", "", None)
    assert response.redirect_chain[-1][0] == f"/reports/exports/{job.pk}/"
    assert "kept in the queue" in response.content.decode()
    # Once the broker is back the sweeper finds the job nobody picked up and sends it again.
    swept = exports_sweep(
        now=job.queued_at + timedelta(seconds=settings.KUAIBAN_EXPORT_QUEUED_SECONDS + 1)
    )
    assert swept.requeued == [job.pk]


def test_the_flag_export_lists_the_flags_of_the_period(
    supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=400, seed=9, open_share=0.5)
    period = whole_history()
    job = run_job(
        django_capture_on_commit_callbacks, user=supervisor, kind="flags", filters={}, period=period
    )
    assert job.status == "done"
    assert job.rows_written == CaseFlag.objects.count() > 0
    rows = list(workbook(job)["预警记录"].iter_rows(values_only=True))
    assert len(rows) - 1 == job.rows_written
    assert {r[0] for r in rows[1:]} <= set(
        CaseFlag.objects.values_list("item_case__application__reference", flat=True)
    )


def test_the_kpi_workbook_equals_the_dashboard(
    supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=600, seed=13, years=0.2)
    rollup_refresh(full=True)
    today = timezone.localdate()
    period = Period(today - timedelta(days=41), today)
    district = (
        ItemCase.objects.filter(application__hall__isnull=False)
        .values_list("application__hall__district_id", flat=True)
        .first()
    )
    for filters in ({}, {"district": district}):
        board = dashboard(filters, period)
        assert board.values["received"] > 0
        job = run_job(
            django_capture_on_commit_callbacks,
            user=supervisor,
            kind="kpi",
            filters=filters,
            period=period,
        )
        book = workbook(job)
        figures = {r[0]: r for r in list(book["指标"].iter_rows(values_only=True))[1:]}
        assert {k: r[2] for k, r in figures.items()} == board.values
        for f in board.figures:
            assert (figures[f.key][5], figures[f.key][6], figures[f.key][7]) == (
                f.last_week,
                f.week_before,
                f.change,
            )
        units = list(book["各单位"].iter_rows(values_only=True))
        at = {header: i for i, header in enumerate(units.pop(0))}
        accepted, concluded, overdue = at["已受理"], at["已办结"], at["已超期"]
        assert [(r[0], r[accepted], r[concluded], r[overdue]) for r in units] == [
            (u.unit.code, u.accepted, u.concluded, u.overdue) for u in board.units
        ]
        handling = list(book["办理用时"].iter_rows(values_only=True))[1:]
        assert [(r[0], r[2]) for r in handling] == [
            (h.item.code, h.decided) for h in board.handling
        ]


# -- the pages -------------------------------------------------------------------------------


def test_the_export_pages_start_a_job_that_its_owner_downloads(
    client, supervisor, eager, django_capture_on_commit_callbacks
):
    history_generate(cases=50, seed=21)
    period = whole_history()
    client.force_login(supervisor)
    query = f"figure=received&start={period.start}&end={period.end}"
    page = client.get(f"/reports/exports/new/?{query}")
    assert page.status_code == 200
    assert 'data-count="50"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/reports/exports/",
            {"kind": "cases", "figure": "received", "start": period.start, "end": period.end},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/exports/{job.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "<progress" in html and 'data-testid="download"' in html
    status = client.get(f"/reports/exports/{job.pk}/status.json").json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["rows"] == status["total"] == 50
    download = client.get(status["download"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book["案件清单"].max_row == 51

    # Anyone else, another supervisor included: 404 on the page, the status and the file.
    other = UserFactory(supervisor=True)
    client.force_login(other)
    for url in (f"/reports/exports/{job.pk}/", f"/reports/exports/{job.pk}/status.json",
                f"/reports/exports/{job.pk}/download"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_a_running_job_page_polls_and_works_without_javascript(client, supervisor):
    job = ExportJob.objects.create(
        user=supervisor,
        kind="kpi",
        parameters={"filters": {}, "start": "2026-11-01", "end": "2026-11-28"},
    )
    client.force_login(supervisor)
    html = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert 'id="job-refresh"' in html and "status.json" in html
    # The polling script is our own static file (no inline script: the CSP forbids it).
    assert '<script src="/static/reports/export_progress.js"></script>' in html
    assert "<script>" not in html
    assert client.get(f"/reports/exports/{job.pk}/download").status_code == 404


def test_a_district_supervisor_exports_their_district_only(
    client, eager, django_capture_on_commit_callbacks
):
    from kuaiban.catalog.models import District

    district = District.objects.order_by("code").first()
    scoped = UserFactory(supervisor=True, district=district)
    client.force_login(scoped)
    other = District.objects.exclude(pk=district.pk).first()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/reports/exports/", {"kind": "kpi", "district": other.pk})
    assert ExportJob.objects.get().parameters["filters"] == {"district": district.pk}


# -- the formula guard -----------------------------------------------------------------------


def assert_formula_like_text_is_text(book) -> int:
    """Every cell of every sheet: no formula, and text starting with = + - @ is quote-prefixed
    text (kuaiban/xlsx.py). Returns how many such cells were seen."""
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    assert (cell.data_type, cell.quotePrefix) == ("s", True), (
                        sheet.title,
                        cell.coordinate,
                        cell.value,
                    )
                    seen += 1
    return seen


def test_names_typed_by_the_bureau_that_look_like_formulas_stay_text_in_every_workbook(
    client, supervisor, eager, django_capture_on_commit_callbacks
):
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from kuaiban.catalog.models import ServiceItem, Unit

    history_generate(cases=200, seed=5, open_share=0.5)
    rollup_refresh(full=True)
    Unit.objects.update(name_zh=Concat(Value('=HYPERLINK("x","'), F("name_zh"), Value('")')))
    ServiceItem.objects.update(name_zh=Concat(Value("=1+"), F("name_zh")))
    User.objects.filter(pk__in=ItemCase.objects.values("reviewer")).update(
        display_name=Concat(Value("@SUM(1)"), F("username"))
    )
    case = (
        ItemCase.objects.filter(reviewer__isnull=False)
        .select_related("application", "item", "unit", "reviewer")
        .first()
    )
    period = whole_history()

    job = run_job(
        django_capture_on_commit_callbacks,
        user=supervisor,
        kind="cases",
        filters={},
        period=period,
        figure="received",
    )
    assert job.status == ExportStatus.DONE, job.error
    book = openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path)
    sheet = book["案件清单"]
    column = {cell.value: cell.column for cell in sheet[1]}
    row = next(
        r
        for r in sheet.iter_rows(min_row=2)
        if r[column["申请编号"] - 1].value == case.application.reference
        and r[column["事项编码"] - 1].value == case.item.code
    )
    for header, name in (
        ("事项", case.item.name_zh),
        ("经办单位", case.unit.name_zh),
        ("承办人", case.reviewer.display_name),
    ):
        cell = row[column[header] - 1]
        assert name[0] in "=@" and cell.value == name, header
        assert (cell.data_type, cell.quotePrefix) == ("s", True), header
    # Every row's item and unit name, and every reviewer's name.
    reviewed = ItemCase.objects.filter(reviewer__isnull=False).count()
    assert assert_formula_like_text_is_text(book) >= 2 * 200 + reviewed

    for kind in ("flags", "kpi", "overdue"):
        job = run_job(
            django_capture_on_commit_callbacks,
            user=supervisor,
            kind=kind,
            filters={},
            period=period,
        )
        assert job.status == ExportStatus.DONE, (kind, job.error)
        book = openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path)
        seen = assert_formula_like_text_is_text(book)
        assert seen > 0 or kind == "overdue", kind  # there may be no overdue case right now

    client.force_login(supervisor)
    response = client.get(f"/reports/leaders/xlsx?start={period.start}&end={period.end}")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert assert_formula_like_text_is_text(book) > 0
