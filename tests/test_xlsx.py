"""What every workbook shares (kuaiban/xlsx.py): the header row's look and the formula guard."""

import ast
import io
from datetime import date, datetime
from pathlib import Path

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
        sheet = xlsx.guarded_sheet(book, "s", [("受理编号", 22), ("=说明", 40)])
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


def test_a_share_is_a_number_shown_as_a_percentage_and_no_share_an_empty_cell():
    def fill(book):
        sheet = xlsx.guarded_sheet(book, "s", [("比率", 10)])
        sheet.append([sheet.percent(2 / 3), sheet.percent(None), sheet.percent(0)])

    a, b, c = written(fill)["s"][2]
    assert (a.value, a.data_type, a.number_format) == (pytest.approx(2 / 3), "n", xlsx.PERCENT)
    assert b.value is None
    assert (c.value, c.number_format) == (0, xlsx.PERCENT)


def test_a_table_filter_covers_the_header_and_every_row_appended():
    def fill(book):
        sheet = xlsx.guarded_sheet(book, "s", [("事项", 10), ("经办单位", 10), ("比率", 10)])
        for n in range(4):
            sheet.append([f"事项{n}", "社保中心", sheet.percent(n / 4)])
        sheet.filter_table()

    assert written(fill)["s"].auto_filter.ref == "A1:C5"


# -- no workbook cell is written around the guard ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ["kuaiban", "bundles", "desk", "speedup", "acceptance", "reports", "devtools", "api"]
GUARD = ROOT / "kuaiban" / "xlsx.py"
# bench/ is left out on purpose: its P4 baseline is a bare openpyxl loop over generated rows,
# timed against the guarded export, and never leaves the benchmark.

RAW_SHEET_CALLS = {"create_sheet", "cell", "_add_sheet", "safe_cell", "safe_row"}
RAW_CELL_NAMES = {"WriteOnlyCell", "Cell", "MergedCell"}


def unguarded_writes(source: str) -> list[str]:
    """Where a module could write a workbook cell without kuaiban/xlsx.py's guard: a sheet made
    or a cell built by hand, a cell's value or a sheet's slot assigned, an editable (not
    write-only) or loaded-for-writing workbook, or rows appended to a guarded sheet's raw sheet.
    A module's only way to a sheet is then `xlsx.guarded_sheet`, whose rows all pass the guard."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("openpyxl.cell", "openpyxl.worksheet.worksheet", "openpyxl.worksheet._write_only")
        ):
            found.append(f"{where}: imports {node.module}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg: k.value for k in node.keywords}
            if name in RAW_SHEET_CALLS or name in RAW_CELL_NAMES:
                found.append(f"{where}: calls {name}()")
            elif name == "Workbook" and not _true(keywords.get("write_only")):
                found.append(f"{where}: an editable Workbook() (write_only=True only)")
            elif name == "load_workbook" and not _true(keywords.get("read_only")):
                found.append(f"{where}: load_workbook() without read_only=True")
            elif (
                name == "append"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "sheet"
            ):
                found.append(f"{where}: appends to a guarded sheet's raw .sheet")
        elif isinstance(node, ast.Attribute) and node.attr in {"active", "_cells"}:
            found.append(f"{where}: uses .{node.attr}")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in {"value", "data_type"}:
                    found.append(f"{where}: assigns a cell's .{target.attr}")
    return found


def _true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def test_the_check_finds_every_way_around_the_guard():
    bad = """
import openpyxl
from openpyxl.cell import WriteOnlyCell
book = openpyxl.Workbook()
sheet = book.create_sheet("s")
sheet.cell(row=1, column=1).value = "=1+1"
book.active["A1"] = "=1+1"
WriteOnlyCell(sheet, value="=1")
guarded.sheet.append(["=1+1"])
openpyxl.load_workbook("x.xlsx")
"""
    found = unguarded_writes(bad)
    assert len(found) == 9, found
    good = """
import openpyxl
from kuaiban import xlsx
book = openpyxl.Workbook(write_only=True)
sheet = xlsx.guarded_sheet(book, "s", [("a", 10)])
sheet.append(["=1+1", sheet.wrapped("=x")])
reader = openpyxl.load_workbook("x.xlsx", read_only=True, data_only=True)
"""
    assert unguarded_writes(good) == []


def test_no_module_writes_a_workbook_cell_around_the_guard():
    offenders = {}
    checked = 0
    for package in PORTAL:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == GUARD or "migrations" in path.parts:
                continue
            source = path.read_text()
            if "openpyxl" not in source and "xlsx" not in source:
                continue
            checked += 1
            if found := unguarded_writes(source):
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}
    assert checked >= 4  # the catalog's reader and writer, the reports' exports and jobs
