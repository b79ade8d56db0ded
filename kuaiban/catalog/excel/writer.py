"""Writing the catalog as the bureau's workbook: every sheet of the schema, in workbook order,
with a styled header and suggestion lists for the columns that have them."""

from __future__ import annotations

import openpyxl
from django.utils import translation
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from kuaiban import xlsx

from .cells import Text
from .schema import EXPORT_ORDER, Sheet, queryset_of, value_at


def catalog_export(path_or_file) -> dict[str, int]:
    """Write the whole catalog as the bureau's workbook (.xlsx). Returns the rows per sheet."""
    with translation.override("zh-hans"):  # choice labels in Chinese, whoever runs it
        return _export(path_or_file)


def _export(path_or_file) -> dict[str, int]:
    # Write-only mode streams rows to disk: memory stays flat whatever the catalog's size.
    book = openpyxl.Workbook(write_only=True)
    counts = {}
    for spec in EXPORT_ORDER:
        sheet = xlsx.guarded_sheet(
            book, spec.title, [(c.header, c.cell.width) for c in spec.columns]
        )
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


def _cell(sheet: xlsx.GuardedSheet, value, kind: Text):
    # Every text the bureau typed (names included) passes the formula guard on append.
    return sheet.wrapped(value) if kind.wrap and value is not None else value


def _add_dropdowns(sheet: xlsx.GuardedSheet, spec: Sheet) -> None:
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
