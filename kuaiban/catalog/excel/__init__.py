"""The bureau's catalog workbook, out and in: 附件1 (bundles), 附件2 (speed-up list) and the tables
behind them.

One declarative spec per sheet (`SHEETS`) drives both directions: the exporter writes each column
with its cell type's `to_excel`, the importer reads it back with `from_excel`, so whatever the
exporter writes the importer accepts, and a round trip is lossless.

Import rules (the bureau edits the workbook and sends it back):

- Every sheet is read into plain rows first and every row is checked (cells, codes, the models'
  own `full_clean`) before anything is written. Rules that depend on other rows' final state
  (`Material.clean`: a cancelled proof still required, a cancelled twin) are checked after the
  writes, in the same transaction. Every problem is reported with its sheet, Excel row and column,
  in Chinese; one problem and nothing changes.
- Rows are matched by natural key (code; 序号 for the speed-up list) and created or updated.
  Units, windows, districts, halls, items, materials, bundles, speed-up entries and form fields
  missing from the workbook stay in the database (cases may refer to them); the summary counts
  them.
- The composition sheets are complete lists for their parents: an item listed in 事项 needs
  exactly the materials 事项材料 gives it, a bundle listed in 一件事 has exactly the questions of
  情形问题 and the items of 附件1, a speed-up entry covers exactly the items in its row, a form
  field listed in 表单字段 is asked by exactly the items in its row.
- A blank cell means the field's default. Booleans are 是/否; choices are written as Chinese labels
  and read as the label or the stored value.
- Cells of 附件1 that repeat a bundle's or an item's own values (名称, 申请人类型 …) are checked
  against the 一件事 / 事项 sheets: they must agree or be left blank.
"""

from .cells import CellError
from .importer import catalog_import
from .reader import RawSheet, read_workbook
from .results import CatalogImportError, Counts, ImportProblem, ImportSummary
from .schema import EXPORT_ORDER, SHEETS, Column, Sheet
from .writer import catalog_export

__all__ = [
    "EXPORT_ORDER",
    "SHEETS",
    "CatalogImportError",
    "CellError",
    "Column",
    "Counts",
    "ImportProblem",
    "ImportSummary",
    "RawSheet",
    "Sheet",
    "catalog_export",
    "catalog_import",
    "read_workbook",
]
