"""Reading a workbook into plain rows: every sheet of an .xlsx (openpyxl) or a legacy .xls (xlrd)
as values, before any of it is interpreted."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import xlrd

from .results import CatalogImportError, ImportProblem


@dataclass
class RawSheet:
    title: str
    rows: list[tuple[int, list]]  # (row number as Excel shows it, cell values)


def read_workbook(source) -> dict[str, RawSheet]:
    """Every sheet of an .xlsx or legacy .xls file as plain values. The format is told by the
    file's content, not its name."""
    try:
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    except OSError as error:
        raise CatalogImportError([ImportProblem(message=f"无法读取文件：{error}")]) from error
    try:
        if data.startswith(b"PK\x03\x04"):
            return _read_xlsx(data)
        if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            return _read_xls(data)
    except Exception as error:  # a damaged file: report it like any other problem
        raise CatalogImportError([ImportProblem(message=f"无法读取工作簿：{error}")]) from error
    raise CatalogImportError([ImportProblem(message="文件不是Excel工作簿（.xlsx或.xls）")])


def _read_xlsx(data: bytes) -> dict[str, RawSheet]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return {
            sheet.title: RawSheet(
                sheet.title,
                [
                    (number, list(values))
                    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
                ],
            )
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _xls_value(cell):
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return int(cell.value)
    return cell.value


def _read_xls(data: bytes) -> dict[str, RawSheet]:
    book = xlrd.open_workbook(file_contents=data)
    return {
        sheet.name: RawSheet(
            sheet.name,
            [
                (number + 1, [_xls_value(cell) for cell in sheet.row(number)])
                for number in range(sheet.nrows)
            ],
        )
        for sheet in book.sheets()
    }
