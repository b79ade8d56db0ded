"""What every workbook shares (kuaiban/xlsx.py): the header row's look and the formula guard."""

import io
from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.cell import Cell

from kuaiban import xlsx

FORMULA_LIKE = ["=1+2", '=HYPERLINK("http://example.invalid","点此")', "+1+1", "-1+1", "@SUM(1)"]
FORMULA_LIKE += ["\t=1+2", "\r=1+2"]


def saved(fill) -> bytes:
    """The file of a write-only workbook filled by `fill(book)`."""
    book = openpyxl.Workbook(write_only=True)
    fill(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def written(fill) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(saved(fill)))


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_text_starting_like_a_formula_is_written_as_quote_prefixed_text(text):
    def fill(book):
        xlsx.GuardedSheet(book.create_sheet("s")).append([text])

    cell = written(fill)["s"]["A1"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)


def test_numbers_dates_and_other_text_are_left_as_they_are():
    moment = datetime(2026, 11, 30, 9, 30)  # noqa: DTZ001 - Excel holds naive local times
    values = [-5, 2.5, 0, moment, date(2026, 11, 30), "张三", "1-2", "", None, "#1", "a=b"]

    def fill(book):
        xlsx.GuardedSheet(book.create_sheet("s")).append(values)

    row = written(fill)["s"][1]
    assert [c.data_type for c in row[:5]] == ["n", "n", "n", "d", "d"]
    assert [c.value for c in row[:4]] == [-5, 2.5, 0, moment]
    assert [(c.value, c.data_type) for c in row[5:7]] == [("张三", "s"), ("1-2", "s")]
    assert [c.value for c in row[9:]] == ["#1", "a=b"]
    assert not any(c.quotePrefix for c in row)


def test_a_guarded_value_needs_a_cell_only_when_it_looks_like_a_formula():
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("s")
    plain = ["张三", -1, None, date(2026, 1, 1), "a=b"]
    assert xlsx.safe_row(sheet, plain) == plain  # no cell object for the common case
    assert isinstance(xlsx.safe_cell(sheet, "-1"), Cell)


def test_a_read_only_reader_gets_the_same_text_back():
    # What the catalog importer does (read_only, data_only): a formula would come back empty.
    def fill(book):
        xlsx.GuardedSheet(book.create_sheet("s")).append(FORMULA_LIKE)

    reader = openpyxl.load_workbook(io.BytesIO(saved(fill)), read_only=True, data_only=True)
    assert list(reader["s"].iter_rows(values_only=True)) == [tuple(FORMULA_LIKE)]


def test_the_header_row_is_styled_frozen_and_sized_and_wrapped_text_wraps():
    def fill(book):
        sheet = xlsx.GuardedSheet(xlsx.add_sheet(book, "s", [("受理编号", 22), ("=说明", 40)]))
        sheet.append([sheet.wrapped("第一行\n=第二行")])

    sheet = written(fill)["s"]
    header = sheet["A1"]
    assert header.value == "受理编号" and header.font.bold
    assert header.fill.fgColor.rgb.endswith("DDEBF7") and header.alignment.wrap_text
    assert (sheet["B1"].data_type, sheet["B1"].quotePrefix) == ("s", True)
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 22 and sheet.column_dimensions["B"].width == 40
    body = sheet["A2"]
    assert body.alignment.wrap_text and body.alignment.vertical == "top"
    assert (body.value, body.data_type, body.quotePrefix) == ("第一行\n=第二行", "s", False)
