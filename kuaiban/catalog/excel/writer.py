"""Writing the catalog as the bureau's workbook: every sheet of the schema, in workbook order,
with a styled header and suggestion lists for the columns that have them."""

from __future__ import annotations

import openpyxl
from django.utils import translation
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .cells import Text
from .schema import EXPORT_ORDER, Sheet, queryset_of, value_at

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)


def catalog_export(path_or_file) -> dict[str, int]:
    """Write the whole catalog as the bureau's workbook (.xlsx). Returns the rows per sheet."""
    with translation.override("zh-hans"):  # choice labels in Chinese, whoever runs it
        return _export(path_or_file)


def _export(path_or_file) -> dict[str, int]:
    # Write-only mode streams rows to disk: memory stays flat whatever the catalog's size.
    book = openpyxl.Workbook(write_only=True)
    counts = {}
    for spec in EXPORT_ORDER:
        sheet = book.create_sheet(spec.title)
        # Widths and the frozen header must be set before the first row is streamed.
        for index, column in enumerate(spec.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.cell.width
        sheet.freeze_panes = "A2"
        header = []
        for column in spec.columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGNMENT
            header.append(cell)
        sheet.append(header)
        rows = 0
        for obj in queryset_of(spec).iterator(chunk_size=1000):
            sheet.append(
                [
                    _cell(sheet, c.cell.to_excel(value_at(obj, c.field)), c.cell)
                    for c in spec.columns
                ]
            )
            rows += 1
        last = get_column_letter(len(spec.columns))
        sheet.auto_filter.ref = f"A1:{last}{rows + 1}"
        _add_dropdowns(sheet, spec)
        counts[spec.title] = rows
    book.save(path_or_file)
    return counts


def _cell(sheet, value, kind: Text):
    formula_like = isinstance(value, str) and value.startswith("=")
    if not formula_like and not (kind.wrap and value is not None):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if formula_like:
        # Text starting with "=" is stored as text, never as a formula (no formula injection).
        cell.data_type = "s"
    if kind.wrap:
        cell.alignment = _WRAP  # several lines show as several lines
    return cell


def _add_dropdowns(sheet, spec: Sheet) -> None:
    # A suggestion list only (no error box): the importer also accepts stored values.
    for index, column in enumerate(spec.columns, start=1):
        if column.cell.dropdown and not column.echo:
            letter = get_column_letter(index)
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(column.cell.dropdown) + '"',
                allow_blank=True,
                showErrorMessage=False,
            )
            validation.add(f"{letter}2:{letter}1048576")
            sheet.data_validations.append(validation)
