"""Editing an exported catalog workbook as the bureau would."""

import openpyxl


def header_index(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[1]}


def find_row(sheet, column: str, value) -> int:
    col = header_index(sheet)[column]
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, col).value == value:
            return row
    raise LookupError(value)


def set_cell(sheet, row: int, column: str, value) -> None:
    sheet.cell(row, header_index(sheet)[column]).value = value


def edit(path, change) -> None:
    """Open the exported workbook as the bureau would, change it, save it in place."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
