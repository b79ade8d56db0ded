"""Every workbook the portal writes (the catalog workbook, each case export, the KPI export and
the leaders' report) passes the formula guard: names typed by the bureau and text typed by
applicants come out as text, never as formulas (kuaiban/xlsx.py).

Applicants' form answers are never exported (personal data); what an applicant types that does
reach a workbook is their name (an enterprise's in full, a citizen's as surname and stars)."""

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.utils import timezone

from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from devtools.history import history_generate
from kuaiban.accounts.models import Role, User
from kuaiban.catalog.excel import catalog_export
from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit, Window
from reports.models import ExportStatus
from reports.services import export_request

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'
COMMAND = "+cmd|' /C calc'!A0"


def formula_cells(book) -> list[str]:
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def guarded_text(book, text: str, *, sheets=None) -> int:
    """How many cells hold `text` (in every sheet, or those given), each checked to be
    quote-prefixed text."""
    seen = 0
    for sheet in book.worksheets if sheets is None else sheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value == text:
                    assert (cell.data_type, cell.quotePrefix) == ("s", True), cell.coordinate
                    seen += 1
    return seen


def test_formula_like_names_and_applicant_text_stay_text_in_every_export_kind(
    client, supervisor, eager, django_capture_on_commit_callbacks, tmp_path
):
    history_generate(cases=200, seed=5, open_share=0.5)
    rollup_refresh(full=True)
    for model in (Unit, ServiceItem, Bundle, Window, ServiceHall, District):
        model.objects.update(name_zh=HYPERLINK)
    User.objects.filter(role=Role.ENTERPRISE).update(real_name=COMMAND)
    User.objects.filter(role=Role.CITIZEN).update(real_name=COMMAND)
    assert User.objects.filter(role=Role.ENTERPRISE, applications__cases__isnull=False).exists(), (
        "the history has enterprise applicants, shown in full"
    )

    # The catalog workbook: units, items and bundles by name.
    catalog_export(tmp_path / "catalog.xlsx")
    book = openpyxl.load_workbook(tmp_path / "catalog.xlsx")
    assert formula_cells(book) == []
    assert guarded_text(book, HYPERLINK) >= Unit.objects.count() + ServiceItem.objects.count()

    # The case exports and the KPI export.
    today = timezone.localdate()
    period = Period(today - timedelta(days=3 * 366 - 2), today)
    expected = {
        "cases": (HYPERLINK, COMMAND),
        "flags": (HYPERLINK,),
        "kpi": (HYPERLINK,),
        "overdue": (),
    }
    for kind, texts in expected.items():
        with django_capture_on_commit_callbacks(execute=True):
            job = export_request(
                user=supervisor,
                kind=kind,
                filters={},
                period=period,
                figure="received" if kind == "cases" else "",
            )
        job.refresh_from_db()
        assert job.status == ExportStatus.DONE, (kind, job.error)
        book = openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path)
        assert formula_cells(book) == [], kind
        for text in texts:
            assert guarded_text(book, text) > 0, (kind, text)
        if kind == "kpi":  # each 好差评 sheet per unit, item, bundle, window, hall, district
            titles = [t for t in book.sheetnames if t.startswith("好差评-")]
            assert len(titles) == 6
            for title in titles:
                assert guarded_text(book, HYPERLINK, sheets=[book[title]]) > 0, title
        masked = COMMAND[0] + "*" * (len(COMMAND) - 1)  # a citizen's name: surname and stars
        guarded_text(book, masked)

    # The leaders' report.
    client.force_login(supervisor)
    response = client.get(f"/reports/leaders/xlsx?start={period.start}&end={period.end}")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert formula_cells(book) == []
    assert guarded_text(book, HYPERLINK) > 0
