"""The supervision exports speak the screen's words (issue 16 part 8): a workbook's column headers
are the headings the supervisor read on the page, rates are numbers shown as percentages, every
table has an autofilter, Chinese headers use Chinese punctuation, and week over week is 环比."""

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.utils import timezone

from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from devtools.history import history_generate
from kuaiban.xlsx import PERCENT
from reports.models import ExportJob
from reports.services import export_request

pytestmark = pytest.mark.django_db

ASCII_PUNCTUATION = re.compile(r"[():,;]")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def period(db) -> Period:
    history_generate(cases=300, seed=23, years=0.2, open_share=0.3)
    rollup_refresh(full=True)
    today = timezone.localdate()
    return Period(today - timedelta(days=60), today)


def run(django_capture_on_commit_callbacks, **kwargs) -> openpyxl.Workbook:
    with django_capture_on_commit_callbacks(execute=True):
        job: ExportJob = export_request(**kwargs)
    job.refresh_from_db()
    assert job.status == "done", job.error
    return openpyxl.load_workbook(Path(settings.MEDIA_ROOT) / job.file_path)


def headings(html: str, testid: str) -> list[str]:
    """The column headings of the table `data-testid=testid` as the page shows them."""
    table = re.search(rf'data-testid="{testid}".*?<thead>(.*?)</thead>', html, re.S)
    assert table, testid
    cells = re.findall(r"<th[^>]*>(.*?)</th>", table.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def link_headings(html: str, testid: str) -> list[str]:
    """The sortable headings of a list (each link in its header row is one column's word)."""
    table = re.search(rf'data-testid="{testid}".*?<thead>(.*?)</thead>', html, re.S)
    assert table, testid
    return [text.strip() for text in re.findall(r"<a [^>]*>(.*?)</a>", table.group(1), re.S)]


def header_row(sheet) -> list[str]:
    return [cell.value for cell in next(sheet.iter_rows(min_row=1, max_row=1))]


def assert_chinese_punctuation(sheet):
    for header in header_row(sheet):
        if header and CJK.search(header):
            assert not ASCII_PUNCTUATION.search(header), (sheet.title, header)


def assert_filtered(sheet):
    """An autofilter over the header row and every row below it."""
    last = openpyxl.utils.get_column_letter(sheet.max_column)
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", (sheet.title, sheet.auto_filter)


def in_workbook(heading: str, written: list[str]) -> bool:
    """The screen's word is a header, alone or with what the column is measured in after it in
    Chinese brackets (办理用时（工作分钟）)."""
    return any(h == heading or (h or "").startswith(f"{heading}（") for h in written)


def test_the_kpi_workbook_uses_the_dashboards_words_percentages_and_filters(
    client, supervisor, period, eager, django_capture_on_commit_callbacks
):
    client.force_login(supervisor)
    query = f"start={period.start}&end={period.end}"
    html = client.get(f"/supervision/dashboard/?{query}").content.decode()
    book = run(
        django_capture_on_commit_callbacks,
        user=supervisor,
        kind="kpi",
        filters={},
        period=period,
    )

    for testid, title in (
        ("units", "各单位"),
        ("handling", "办理用时"),
        ("unit-ratings", "好差评-单位"),
    ):
        screen = headings(html, testid)
        assert screen and all(CJK.search(h) for h in screen), screen
        written = header_row(book[title])
        # every column the page shows is in the workbook, under the same word, in its order
        assert [h for h in written if h in screen] == screen, (title, written, screen)
        assert_filtered(book[title])

    units = book["各单位"]
    header = header_row(units)
    on_time = header.index("按时")
    rows = list(units.iter_rows(min_row=2))
    assert rows, "the history has units"
    shares = [row[on_time] for row in rows if row[on_time].value is not None]
    assert shares, "some unit concluded cases"
    for cell in shares:
        assert isinstance(cell.value, (int, float)) and 0 <= cell.value <= 1  # a number
        assert cell.number_format == PERCENT
    for title in ("指标", "办理用时", "到场次数", "好差评", "好差评-单位"):
        for row in book[title].iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float) and cell.number_format != PERCENT:
                    # a float that is not a percentage is a measure (a median, visits per
                    # application), never a share written as "0.85"
                    column = book[title].cell(1, cell.column).value
                    assert not re.search("率|占比|比例|比率", column or ""), (title, column)

    figures = book["指标"]
    assert "环比" in header_row(figures) and "修改" not in "".join(header_row(figures))
    share = header_row(figures).index("占比")
    assert any(
        row[share].number_format == PERCENT and isinstance(row[share].value, float)
        for row in figures.iter_rows(min_row=2)
    )

    for sheet in book.worksheets:
        assert_chinese_punctuation(sheet)
        if sheet.title != "说明":
            assert_filtered(sheet)


def test_the_case_lists_export_uses_the_lists_words(
    client, supervisor, period, eager, django_capture_on_commit_callbacks
):
    client.force_login(supervisor)
    query = f"start={period.start}&end={period.end}"
    for page, testid, kind, extra in (
        ("/supervision/cases/", "cases", "cases", {"figure": "received"}),
        ("/supervision/overdue/", "overdue", "overdue", {}),
    ):
        html = client.get(f"{page}?{query}&figure=received").content.decode()
        screen = link_headings(html, testid)
        assert len(screen) >= 7 and all(CJK.search(h) for h in screen), screen
        book = run(
            django_capture_on_commit_callbacks,
            user=supervisor,
            kind=kind,
            filters={},
            period=period,
            **extra,
        )
        sheet = book["案件清单"]
        written = header_row(sheet)
        missing = [h for h in screen if not in_workbook(h, written)]
        assert not missing, (kind, missing, written)
        assert_chinese_punctuation(sheet)
        assert_filtered(sheet)


def test_the_leader_report_says_huanbi_and_writes_rates_as_percentages(client, supervisor, period):
    client.force_login(supervisor)
    query = f"start={period.start}&end={period.end}"
    html = client.get(f"/reports/leaders/?{query}").content.decode()
    screen = headings(html, "outcomes")  # the figures' table
    assert "环比" in screen and "修改" not in screen, screen
    response = client.get(f"/reports/leaders/xlsx?{query}")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["成效"]
    assert all(in_workbook(h, header_row(sheet)) for h in screen), header_row(sheet)
    rate_cells = [row[4] for row in sheet.iter_rows(min_row=2) if isinstance(row[4].value, float)]
    assert rate_cells and all(cell.number_format == PERCENT for cell in rate_cells)
    assert_chinese_punctuation(sheet)
