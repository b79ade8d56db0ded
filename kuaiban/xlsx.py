"""What every workbook the portal writes shares (the catalog workbook, the reports' exports): the
header row's look, wrapped text, and the one formula guard. Write-only workbooks throughout.

The formula guard: text starting with "=", "+", "-", "@", a tab or a carriage return (the leading
characters OWASP lists for CSV injection) is written as a text cell, never as a formula, and with
Excel's quote prefix (what Excel itself records when someone types '=…), so that it stays text
when someone edits the cell in Excel. The value is unchanged: a name read back from the workbook
is the name that was written. Only `str` values are looked at: numbers (-5 too) and dates stay
numbers and dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)  # several lines in one cell show as lines

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PERCENT = "0.0%"  # a share kept as the number (0.986), shown as a percentage (98.6%)


def safe_cell(
    sheet, value, *, alignment: Alignment | None = None, number_format: str | None = None
):
    """What to append for `value` in a row of the write-only `sheet`: the value itself, or a cell
    when it needs one (text a spreadsheet would read as a formula; an alignment; a number
    format)."""
    formula_like = isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
    if not formula_like and alignment is None and number_format is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if formula_like:
        cell.data_type = "s"  # openpyxl would store "=…" as a formula
        cell.quotePrefix = True
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    return cell


def safe_row(sheet, values: Iterable) -> list:
    """The row with every formula-like text made a text cell; everything else as it was."""
    # The check is inline: it runs for every value of every exported row.
    return [
        safe_cell(sheet, value)
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
        else value
        for value in values
    ]


def guarded_sheet(book, title: str, columns: Sequence[tuple[str, float]]) -> GuardedSheet:
    """The one way to a sheet: a new sheet of the write-only `book` with its header row written
    (columns are (header, width); bold on blue, wrapped, frozen while scrolling), every later row
    passing the formula guard. `tests/test_xlsx.py` checks that no other module makes a sheet or
    writes a cell itself."""
    return GuardedSheet(_add_sheet(book, title, columns), len(columns))


def _add_sheet(book, title: str, columns: Sequence[tuple[str, float]]):
    sheet = book.create_sheet(title)
    # Widths and the frozen header must be set before the first row is streamed.
    for index, (_header, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    row = []
    for header, _width in columns:
        cell = safe_cell(sheet, header, alignment=HEADER_ALIGNMENT)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        row.append(cell)
    sheet.append(row)
    return sheet


class GuardedSheet:
    """A write-only sheet whose every row passes the formula guard on its way in."""

    def __init__(self, sheet, columns: int = 1) -> None:
        self.sheet = sheet
        self.columns = columns
        self.rows = 1  # the header row

    def filter_table(self) -> None:
        """An autofilter over the header and every row appended so far (call it once the rows
        are in: a write-only sheet writes it when the workbook is saved)."""
        last = get_column_letter(max(self.columns, 1))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows}"

    @property
    def auto_filter(self):
        return self.sheet.auto_filter

    @property
    def data_validations(self):
        return self.sheet.data_validations

    def append(self, values: Iterable) -> None:
        self.sheet.append(safe_row(self.sheet, values))
        self.rows += 1

    def wrapped(self, text: str):
        """A cell whose text wraps (a paragraph typed by someone, guarded like any text)."""
        return safe_cell(self.sheet, text, alignment=WRAP)

    def percent(self, share: float | None):
        """A share (0.986) as a number shown as a percentage (98.6%); empty for None (nothing to
        divide by)."""
        return None if share is None else safe_cell(self.sheet, share, number_format=PERCENT)
