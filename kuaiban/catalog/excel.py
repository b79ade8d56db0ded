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

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import xlrd
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import translation
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from kuaiban.workdays.units import ITEM_LIMIT_UNITS

from .models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    District,
    FormField,
    ItemMaterial,
    Material,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
    Window,
)

YES, NO = "是", "否"
_TRUE = {YES, "y", "yes", "true", "t", "1", "√", "✓", "✔"}
_FALSE = {NO, "n", "no", "false", "f", "0", "×", "✗", "✘"}
# Several codes in one cell (附件2's 事项编码, a hall's windows): the exporter joins with "、".
_LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")


# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with the workbook, located as Excel shows it."""

    sheet: str = ""
    row: int | None = None
    column: str = ""
    message: str = ""

    def __str__(self) -> str:
        where = ""
        if self.sheet:
            where += f"工作表“{self.sheet}”"
        if self.row:
            where += f"第{self.row}行"
        if self.column:
            where += f"“{self.column}”"
        return f"{where}：{self.message}" if where else self.message


class CatalogImportError(Exception):
    """The workbook was refused; `problems` lists everything wrong with it. Nothing was changed."""

    def __init__(self, problems: Iterable[ImportProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class CellError(ValueError):
    """A cell that cannot be read as its column's type; the message is shown to the user."""


# --------------------------------------------------------------------------------------------
# Cell types: how one value goes into a cell and comes back


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _as_text(raw: Any) -> str:
    # Legacy .xls files store codes and phone numbers typed as numbers as floats (12333.0).
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


class Text:
    width = 24
    wrap = False  # the exporter wraps the cell's text (several lines in one cell)

    def __init__(self, width: int | None = None):
        if width:
            self.width = width

    def to_excel(self, value):
        return value if value not in ("", None) else None

    def from_excel(self, raw):
        return None if _blank(raw) else _as_text(raw)

    dropdown: list[str] | None = None


class Code(Text):
    width = 14

    def from_excel(self, raw):
        return None if _blank(raw) else _as_text(raw).strip()


class Lines(Text):
    """One entry per line inside the cell (Alt+Enter in Excel), kept as written: the entries may
    contain "、" and "，" themselves, so a line break is the only lossless separator."""

    width = 30
    wrap = True


class Int(Text):
    width = 10

    def from_excel(self, raw):
        if _blank(raw):
            return None
        if isinstance(raw, bool):
            raise CellError("须为整数")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            raw = int(raw)
        if not isinstance(raw, int):
            raise CellError(f"“{raw}”不是整数")
        if raw < 0:
            raise CellError("须为不小于0的整数")
        return raw


class Bool(Text):
    width = 8
    dropdown = [YES, NO]

    def to_excel(self, value):
        return YES if value else NO

    def from_excel(self, raw):
        if _blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        text = _as_text(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CellError(f"须填写“是”或“否”，不能是“{raw}”")


class Choice(Text):
    """Written as the choice's Chinese label; read as the label or the stored value."""

    width = 14

    def __init__(self, choices: type[models.TextChoices] | list[tuple[str, Any]]):
        self.choices = choices if isinstance(choices, list) else choices.choices
        self.labels = dict(self.choices)

    @property
    def dropdown(self) -> list[str]:
        return [str(label) for _value, label in self.choices]

    def to_excel(self, value):
        return str(self.labels[value]) if value in self.labels else value or None

    def from_excel(self, raw):
        if _blank(raw):
            return None
        text = _as_text(raw).strip().lower()
        for value, label in self.choices:
            if text in (value.lower(), str(label).lower()):
                return value
        raise CellError(f"须为以下之一：{'、'.join(self.dropdown)}，不能是“{raw}”")


class Ref(Code):
    """A code naming a row of another sheet (or of the database)."""

    def __init__(
        self, model: type[models.Model], noun: str, *, in_workbook: bool = False, within: str = ""
    ):
        self.model = model
        self.noun = noun
        # The parent of a composition row must be listed in the workbook itself: its list is
        # replaced, so a code the workbook does not describe is almost certainly a typo.
        self.in_workbook = in_workbook
        # Codes unique only within another column's row (a question within its bundle).
        self.within = within

    def to_excel(self, value):
        return value.code if value is not None else None


class Refs(Text):
    """Several codes in one cell, joined by "、"."""

    def __init__(self, model: type[models.Model], noun: str, width: int = 24):
        super().__init__(width)
        self.model = model
        self.noun = noun

    def to_excel(self, manager):
        return "、".join(sorted(obj.code for obj in manager.all())) or None

    def from_excel(self, raw):
        if _blank(raw):
            return []
        return [code for code in _LIST_SEPARATORS.split(_as_text(raw).strip()) if code]


# --------------------------------------------------------------------------------------------
# The sheets


@dataclass(frozen=True)
class Column:
    header: str
    field: str  # a model field; for `echo` columns a dotted path read from the row's instance
    cell: Text
    required: bool = False
    # Repeats a value kept on another sheet (named here): exported for reading, checked on import.
    echo: str = ""


@dataclass(frozen=True)
class Sheet:
    title: str
    model: type[models.Model]
    key: tuple[str, ...]  # natural key; for compositions the parent comes first
    columns: tuple[Column, ...]
    order_by: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # select_related for the export and the database snapshot
    prefetch: tuple[str, ...] = ()
    # Compositions: the sheet lists every row of each parent it mentions.
    parent: str = ""
    # Rules beyond the model's own: fn(instance, run) -> {field: message}.
    checks: tuple[Callable[[Any, _Import], dict[str, str]], ...] = ()
    # Model rules that look at other rows (Material.clean looks at its item links and at
    # cancelled twins) are checked once the workbook's rows are in place, before commit.
    rules_need_final_state: bool = False

    def column_for(self, field_name: str) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None)


LIMIT_UNITS = Choice(ITEM_LIMIT_UNITS)

NAMES = (
    Column("中文名称", "name_zh", Text(30), required=True),
    Column("英文名称", "name_en", Text(30)),
)

GUIDE = (
    Column("概述", "summary_zh", Text(40)),
    Column("英文概述", "summary_en", Text(40)),
    Column("申请条件", "conditions", Text(40)),
    Column("窗口办理", "channel_hall", Bool()),
    Column("网上办理", "channel_online", Bool()),
    Column("掌上办理", "channel_mobile", Bool()),
    Column("不计入时限的特别程序", "special_steps", Text(30)),
    Column("收费", "fee", Text(12)),
    Column("办理地点和时间", "place_and_hours", Text(30)),
    Column("结果送达", "result_delivery", Text(24)),
    Column("进度查询", "progress_query", Text(24)),
    Column("咨询电话", "consultation_phone", Text(14)),
    Column("监督投诉渠道", "complaint_channel", Text(14)),
    Column("已发布", "is_published", Bool()),
)

BUNDLE_HEAD = (
    Column("一件事编码", "code", Code(), required=True),
    Column("一件事名称", "name_zh", Text(24), required=True),
    Column("英文名称", "name_en", Text(24)),
    Column("申请人类型", "applicant", Choice(Bundle.Applicant), required=True),
    Column("牵头单位编码", "lead_unit", Ref(Unit, "部门"), required=True),
    Column("受理窗口编码", "window", Ref(Window, "窗口"), required=True),
)


def _echo(columns: tuple[Column, ...], via: str, source: str) -> tuple[Column, ...]:
    """The same columns, read through the foreign key `via`, as repeats of sheet `source`."""
    return tuple(
        Column(c.header, f"{via}.{c.field}", c.cell, echo=source)
        for c in columns
        if c.field != "code"
    )


def _material_not_cancelled(link: ItemMaterial, run: _Import) -> dict[str, str]:
    # The plan: a cancelled proof may never be required again, whichever side says it is
    # cancelled (the database, or the workbook's 材料 sheet).
    material = getattr(link, "material", None)  # unset when its code was unknown
    if material is None:
        return {}
    if material.cancelled or material.code in run.cancelled_in_db:
        return {"material": f"材料“{material.code}”是已取消的证明事项，不得再要求提交"}
    return {}


DISTRICTS = Sheet(
    "区县",
    District,
    key=("code",),
    columns=(Column("行政区划代码", "code", Code(), required=True), *NAMES),
    order_by=("code",),
)

WINDOWS = Sheet(
    "窗口",
    Window,
    key=("code",),
    columns=(
        Column("窗口编码", "code", Code(), required=True),
        *NAMES,
        Column("类别", "category", Choice(Window.Category), required=True),
    ),
    order_by=("code",),
)

UNITS = Sheet(
    "部门",
    Unit,
    key=("code",),
    columns=(
        Column("部门编码", "code", Code(), required=True),
        *NAMES,
        Column("类型", "kind", Choice(Unit.Kind)),
        Column("咨询电话", "phone", Text(14)),
    ),
    order_by=("code",),
)

HALLS = Sheet(
    "服务大厅",
    ServiceHall,
    key=("code",),
    columns=(
        Column("大厅编码", "code", Code(), required=True),
        *NAMES,
        Column("层级", "level", Choice(ServiceHall.Level), required=True),
        Column("所属区县代码", "district", Ref(District, "区县")),
        Column("地址", "address", Text(36)),
        Column("窗口编码", "windows", Refs(Window, "窗口", width=40)),
    ),
    order_by=("code",),
    related=("district",),
    prefetch=("windows",),
)

MATERIALS = Sheet(
    "材料",
    Material,
    key=("code",),
    columns=(
        Column("材料编码", "code", Code(), required=True),
        Column("材料名称", "name_zh", Text(30), required=True),
        Column("英文名称", "name_en", Text(30)),
        Column("说明", "description", Text(40)),
        Column("共享获取", "shared_data", Bool()),
        Column("共享来源", "shared_source", Text(24)),
        Column("可告知承诺", "commitment_allowed", Bool()),
        Column("承诺内容", "commitment_text", Text(40)),
        Column("需纸质原件", "physical", Bool()),
        Column("已取消证明", "cancelled", Bool()),
        Column("取消依据", "cancellation_basis", Text(30)),
    ),
    order_by=("code",),
    rules_need_final_state=True,
)

ITEMS = Sheet(
    "事项",
    ServiceItem,
    key=("code",),
    columns=(
        Column("事项编码", "code", Code(), required=True),
        Column("事项名称", "name_zh", Text(30), required=True),
        Column("英文名称", "name_en", Text(30)),
        Column("受理窗口编码", "window", Ref(Window, "窗口"), required=True),
        Column("办理单位编码", "unit", Ref(Unit, "部门"), required=True),
        Column(
            "办件类型",
            "kind",
            Choice(ServiceItem.Kind),
            required=True,
        ),
        Column("法定时限", "statutory_limit", Int()),
        Column("法定时限单位", "statutory_unit", LIMIT_UNITS),
        Column("承诺时限", "committed_limit", Int()),
        Column("承诺时限单位", "committed_unit", LIMIT_UNITS),
        Column("即办时限（办公分钟）", "instant_minutes", Int()),
        Column("可延长", "extension_allowed", Bool()),
        Column("延长时限", "extension_limit", Int()),
        Column("延长时限单位", "extension_unit", LIMIT_UNITS),
        Column("法律依据", "legal_basis", Text(30)),
        Column("保留法定时限", "statutory_mode", Bool()),
        Column("保留法定时限理由", "statutory_mode_reason", Text(30)),
        *GUIDE,
    ),
    order_by=("code",),
    related=("window", "unit"),
)

ITEM_MATERIALS = Sheet(
    "事项材料",
    ItemMaterial,
    key=("item", "material"),
    parent="item",
    columns=(
        Column("事项编码", "item", Ref(ServiceItem, "事项", in_workbook=True), required=True),
        Column("材料编码", "material", Ref(Material, "材料"), required=True),
        Column("备注", "note", Text(30)),
        Column("顺序", "order", Int()),
    ),
    order_by=("item__code", "order", "material__code"),
    related=("item", "material"),
    checks=(_material_not_cancelled,),
)

BUNDLES = Sheet(
    "一件事",
    Bundle,
    key=("code",),
    columns=(*BUNDLE_HEAD, *GUIDE),
    order_by=("code",),
    related=("lead_unit", "window"),
)

QUESTIONS = Sheet(
    "情形问题",
    BundleQuestion,
    key=("bundle", "code"),
    parent="bundle",
    columns=(
        Column("一件事编码", "bundle", Ref(Bundle, "一件事", in_workbook=True), required=True),
        Column("问题编码", "code", Code(), required=True),
        Column("问题（中文）", "text_zh", Text(40), required=True),
        Column("问题（英文）", "text_en", Text(40)),
        Column("顺序", "order", Int()),
    ),
    order_by=("bundle__code", "order", "code"),
    related=("bundle",),
)

BUNDLE_ITEMS = Sheet(
    "附件1 打包一件事清单",
    BundleItem,
    key=("bundle", "item"),
    parent="bundle",
    columns=(
        Column("一件事编码", "bundle", Ref(Bundle, "一件事", in_workbook=True), required=True),
        *_echo(BUNDLE_HEAD, "bundle", "一件事"),
        Column("阶段", "stage", Int()),
        Column("事项编码", "item", Ref(ServiceItem, "事项"), required=True),
        Column("事项名称", "item.name_zh", Text(30), echo="事项"),
        Column(
            "纳入条件问题编码",
            "condition",
            Ref(BundleQuestion, "情形问题", in_workbook=True, within="bundle"),
        ),
        Column("条件答案(是/否)", "condition_answer", Bool()),
        Column("顺序", "order", Int()),
    ),
    order_by=("bundle__code", "stage", "order", "item__code"),
    related=("bundle__lead_unit", "bundle__window", "item", "condition"),
)

SPEEDUP = Sheet(
    "附件2 提速办事项清单",
    SpeedUpEntry,
    key=("number",),
    columns=(
        Column("序号", "number", Int(), required=True),
        Column("事项名称", "name_zh", Text(30), required=True),
        Column("英文名称", "name_en", Text(30)),
        Column("事项编码", "items", Refs(ServiceItem, "事项")),
        Column("备注/依据", "note", Text(36)),
    ),
    order_by=("number",),
    prefetch=("items",),
)

FORM_FIELDS = Sheet(
    "表单字段",
    FormField,
    key=("code",),
    columns=(
        Column("字段编码", "code", Code(24), required=True),
        Column("名称（中文）", "label_zh", Text(24), required=True),
        Column("名称（英文）", "label_en", Text(24)),
        Column("类型", "kind", Choice(FormField.Kind)),
        Column("选项", "choices", Lines()),
        Column("必填", "required", Bool()),
        Column("说明（中文）", "help_zh", Text(30)),
        Column("说明（英文）", "help_en", Text(30)),
        Column("顺序", "order", Int()),
        Column("适用事项编码", "items", Refs(ServiceItem, "事项", width=40)),
    ),
    order_by=("order", "code"),
    prefetch=("items",),
)

# Import order: whatever a row refers to comes first.
SHEETS = (
    DISTRICTS,
    WINDOWS,
    UNITS,
    HALLS,
    MATERIALS,
    ITEMS,
    ITEM_MATERIALS,
    BUNDLES,
    QUESTIONS,
    BUNDLE_ITEMS,
    SPEEDUP,
    FORM_FIELDS,
)
# Workbook order: the plan's two attachments first, reference tables last.
EXPORT_ORDER = (
    BUNDLE_ITEMS,
    SPEEDUP,
    BUNDLES,
    QUESTIONS,
    ITEMS,
    MATERIALS,
    ITEM_MATERIALS,
    FORM_FIELDS,
    UNITS,
    WINDOWS,
    DISTRICTS,
    HALLS,
)
_SHEET_OF_MODEL = {spec.model: spec for spec in SHEETS}


def _get(obj, path: str):
    for name in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


def _queryset(spec: Sheet):
    return (
        spec.model.objects.select_related(*spec.related)
        .prefetch_related(*spec.prefetch)
        .order_by(*spec.order_by)
    )


# --------------------------------------------------------------------------------------------
# Export

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
        for obj in _queryset(spec).iterator(chunk_size=1000):
            sheet.append(
                [_cell(sheet, c.cell.to_excel(_get(obj, c.field)), c.cell) for c in spec.columns]
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


# --------------------------------------------------------------------------------------------
# Reading a workbook into plain rows


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


# --------------------------------------------------------------------------------------------
# Import


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    kept: int = 0  # in the database, not in the workbook, left in place

    def __str__(self) -> str:
        text = f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"
        if self.deleted:
            text += f"，删除 {self.deleted}"
        if self.kept:
            text += f"，工作簿未列出（保留） {self.kept}"
        return text


@dataclass
class ImportSummary:
    counts: dict[str, Counts] = field(default_factory=dict)  # by sheet title

    def lines(self) -> list[str]:
        return [f"{title}：{counts}" for title, counts in self.counts.items()]

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class _Row:
    """A parsed row: values by column field, and the fields whose cells were already reported."""

    spec: Sheet
    number: int
    values: dict[str, Any]
    bad: set[str] = field(default_factory=set)


@dataclass
class _Planned:
    """A row turned into a model instance, with what it looked like before."""

    row: _Row
    instance: models.Model
    m2m: dict[str, list] = field(default_factory=dict)
    before: dict[str, Any] | None = None  # None: a new row
    m2m_before: dict[str, set] = field(default_factory=dict)


def catalog_import(path) -> ImportSummary:
    """Check the workbook completely, then apply it in one transaction. Raises
    `CatalogImportError` with every problem found, having changed nothing."""
    book = read_workbook(path)
    with translation.override("zh-hans"):
        return _Import(book).run()


_UNRESOLVED = object()  # a code that names nothing; reported where it was found


def _key_part(obj: models.Model, name: str):
    value = getattr(obj, name)
    return value.code if isinstance(value, models.Model) else value


def _field_values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields}


def _sync_foreign_keys(instance: models.Model) -> None:
    # A row may point at a row created earlier in this import; copy the now-known id.
    for f in instance._meta.concrete_fields:
        if f.is_relation and f.is_cached(instance):
            target = f.get_cached_value(instance)
            setattr(instance, f.attname, target.pk if target is not None else None)


class _Import:
    def __init__(self, book: dict[str, RawSheet]):
        self.book = book
        self.problems: list[ImportProblem] = []
        self.in_db: dict[type, dict[tuple, models.Model]] = {}
        self.in_workbook: dict[type, dict[tuple, models.Model]] = {}
        self.planned: list[_Planned] = []
        self.cancelled_in_db = set(
            Material.objects.filter(cancelled=True).values_list("code", flat=True)
        )

    def problem(self, row: _Row | None, column: str, message: str, *, sheet: str = "") -> None:
        self.problems.append(
            ImportProblem(
                sheet=row.spec.title if row else sheet,
                row=row.number if row else None,
                column=column,
                message=message,
            )
        )

    def fail_if_problems(self) -> None:
        if self.problems:
            # In workbook order, row by row, so the list reads like the file.
            order = {spec.title: index for index, spec in enumerate(EXPORT_ORDER)}
            raise CatalogImportError(
                sorted(self.problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0))
            )

    def run(self) -> ImportSummary:
        rows = {spec: self.parse_sheet(spec) for spec in SHEETS}
        if None in rows.values():
            # A missing sheet or column makes every row of its dependants look wrong.
            self.fail_if_problems()
        for spec in SHEETS:
            self.plan_sheet(spec, rows[spec])
        self.fail_if_problems()
        with transaction.atomic():
            summary = self.apply()
            self.check_final_state()
            self.fail_if_problems()  # rolls the transaction back
        return summary

    # -- reading ------------------------------------------------------------------------------

    def parse_sheet(self, spec: Sheet) -> list[_Row] | None:
        """The sheet's rows parsed by column; None if the sheet or its header is unusable."""
        raw = self.book.get(spec.title)
        if raw is None:
            self.problem(None, "", f"缺少工作表“{spec.title}”")
            return None
        # The bureau's own sheets often carry a title row above the header.
        first = spec.columns[0].header
        header_at = next(
            (
                i
                for i, (_, values) in enumerate(raw.rows[:10])
                if first in [str(v).strip() for v in values if v is not None]
            ),
            None,
        )
        if header_at is None:
            self.problem(None, "", f"找不到表头行（应含“{first}”列）", sheet=spec.title)
            return None
        header_number, header = raw.rows[header_at]
        positions: dict[str, int] = {}
        usable = True
        for index, value in enumerate(header):
            name = "" if value is None else str(value).strip()
            if name in positions:
                self.problems.append(ImportProblem(spec.title, header_number, name, "列名重复"))
                usable = False
            elif name:
                positions[name] = index
        for column in spec.columns:
            if column.header not in positions:
                self.problems.append(
                    ImportProblem(spec.title, header_number, "", f"缺少列“{column.header}”")
                )
                usable = False
        if not usable:
            return None

        parsed = []
        for number, values in raw.rows[header_at + 1 :]:
            if all(_blank(v) for v in values):
                continue
            row = _Row(spec, number, {})
            for column in spec.columns:
                index = positions[column.header]
                cell = values[index] if index < len(values) else None
                try:
                    value = column.cell.from_excel(cell)
                except CellError as error:
                    self.problem(row, column.header, str(error))
                    row.bad.add(column.field)
                    continue
                if column.required and value in (None, []):
                    self.problem(row, column.header, "必填")
                    row.bad.add(column.field)
                row.values[column.field] = value
            parsed.append(row)
        return parsed

    # -- checking -----------------------------------------------------------------------------

    def db_rows(self, spec: Sheet) -> dict[tuple, models.Model]:
        if spec.model not in self.in_db:
            self.in_db[spec.model] = {
                tuple(_key_part(obj, name) for name in spec.key): obj for obj in _queryset(spec)
            }
        return self.in_db[spec.model]

    def plan_sheet(self, spec: Sheet, rows: list[_Row]) -> None:
        existing = self.db_rows(spec)
        listed = self.in_workbook.setdefault(spec.model, {})
        first_seen: dict[tuple, int] = {}
        for row in rows:
            if any(name in row.bad for name in spec.key):
                continue
            key = tuple(row.values[name] for name in spec.key)
            if key in first_seen:
                column = spec.column_for(spec.key[-1])
                self.problem(row, column.header, f"“{key[-1]}”重复（已见于第{first_seen[key]}行）")
                continue
            first_seen[key] = row.number
            instance = existing.get(key) or spec.model()
            plan = _Planned(row, instance)
            if instance.pk:
                plan.before = _field_values(instance)
                plan.m2m_before = {
                    c.field: {obj.pk for obj in getattr(instance, c.field).all()}
                    for c in spec.columns
                    if isinstance(c.cell, Refs)
                }
            self.fill(plan)
            listed[key] = instance
            self.validate(plan)
            self.planned.append(plan)

    def fill(self, plan: _Planned) -> None:
        row, instance = plan.row, plan.instance
        for column in row.spec.columns:
            if column.echo or column.field in row.bad:
                continue
            value = row.values[column.field]
            if isinstance(column.cell, Ref):
                value = self.resolve(row, column, value)
                if value is _UNRESOLVED:
                    row.bad.add(column.field)
                    continue
            elif isinstance(column.cell, Refs):
                plan.m2m[column.field] = self.resolve_many(row, column, value)
                continue
            elif value is None:
                value = instance._meta.get_field(column.field).get_default()
            setattr(instance, column.field, value)

    def resolve(self, row: _Row, column: Column, code: str | None):
        if code is None:
            return None
        ref: Ref = column.cell
        spec = _SHEET_OF_MODEL[ref.model]
        key: tuple = (code,)
        if ref.within:
            if ref.within in row.bad:
                return _UNRESOLVED
            key = (row.values[ref.within], code)
        found = self.in_workbook.get(ref.model, {}).get(key)
        if found is None and not ref.in_workbook:
            found = self.db_rows(spec).get(key)
        if found is not None:
            return found
        if ref.within:
            message = f"“{spec.title}”工作表中没有{key[0]}的{ref.noun}“{code}”"
        elif ref.in_workbook:
            message = f"{ref.noun}“{code}”不在“{spec.title}”工作表中"
        else:
            message = f"未知的{ref.noun}编码“{code}”"
        self.problem(row, column.header, message)
        return _UNRESOLVED

    def resolve_many(self, row: _Row, column: Column, codes: list[str]) -> list:
        ref: Refs = column.cell
        spec = _SHEET_OF_MODEL[ref.model]
        found, unknown = [], []
        for code in dict.fromkeys(codes):  # a code listed twice counts once
            obj = self.in_workbook.get(ref.model, {}).get((code,))
            if obj is None:
                obj = self.db_rows(spec).get((code,))
            if obj is None:
                unknown.append(code)
            else:
                found.append(obj)
        if unknown:
            self.problem(row, column.header, f"未知的{ref.noun}编码“{'、'.join(unknown)}”")
            row.bad.add(column.field)
        return found

    def validate(self, plan: _Planned) -> None:
        row, instance, spec = plan.row, plan.instance, plan.row.spec
        self.check_repeats(row, instance)
        for check in spec.checks:
            for name, message in check(instance, self).items():
                self.report(row, name, [message])
                row.bad.add(name)

        exclude = set(row.bad)
        for f in instance._meta.concrete_fields:
            # A reference to a row this import will create is valid but has no id yet.
            if f.is_relation and f.is_cached(instance):
                target = f.get_cached_value(instance)
                if target is not None and target.pk is None:
                    exclude.add(f.name)
        try:
            if spec.rules_need_final_state:
                instance.clean_fields(exclude=exclude)
                instance.validate_unique(exclude=exclude)
                instance.validate_constraints(exclude=exclude)
            else:
                instance.full_clean(exclude=exclude)
        except ValidationError as error:
            self.report_validation(row, error)

    def check_repeats(self, row: _Row, instance: models.Model) -> None:
        """Cells of 附件1 that repeat a bundle's or an item's own value must agree with it."""
        for column in row.spec.columns:
            given = row.values.get(column.field)
            via = column.field.split(".")[0]
            if not column.echo or given is None or {column.field, via} & row.bad:
                continue
            try:
                source = _get(instance, column.field)
            except ObjectDoesNotExist:
                continue  # unset because its own cell is wrong, which is reported there
            if source is None:
                continue
            wanted = column.cell.to_excel(source)
            if not isinstance(column.cell, Ref):
                given = column.cell.to_excel(given)
            if str(given or "").strip() != str(wanted or "").strip():
                self.problem(
                    row,
                    column.header,
                    f"与“{column.echo}”工作表不一致（应为“{wanted or ''}”）；"
                    f"请在“{column.echo}”工作表中修改，此处可留空",
                )

    def report_validation(self, row: _Row, error: ValidationError) -> None:
        for name, errors in error.error_dict.items():
            if name in row.bad:
                continue  # that cell has been reported already
            self.report(row, name, ValidationError(errors).messages)

    def report(self, row: _Row, name: str, messages: list[str]) -> None:
        column = row.spec.column_for(name)
        for message in messages:
            message = str(message)
            if column is not None:
                self.problem(row, column.header, message)
            elif name == NON_FIELD_ERRORS:
                self.problem(row, "", message)
            else:
                label = row.spec.model._meta.get_field(name).verbose_name
                self.problem(row, "", f"{label}：{message}")

    def check_final_state(self) -> None:
        for plan in self.planned:
            if plan.row.spec.rules_need_final_state:
                try:
                    plan.instance.full_clean()
                except ValidationError as error:
                    self.report_validation(plan.row, error)

    # -- writing ------------------------------------------------------------------------------

    def apply(self) -> ImportSummary:
        summary = ImportSummary({spec.title: Counts() for spec in EXPORT_ORDER})
        for plan in self.planned:
            counts = summary.counts[plan.row.spec.title]
            instance = plan.instance
            _sync_foreign_keys(instance)
            changed = plan.before is None or _field_values(instance) != plan.before
            if changed:
                instance.save()
            for name, targets in plan.m2m.items():
                if {t.pk for t in targets} != plan.m2m_before.get(name, set()):
                    getattr(instance, name).set(targets)
                    changed = True
            if plan.before is None:
                counts.created += 1
            elif changed:
                counts.updated += 1
            else:
                counts.unchanged += 1
        # Rows the workbook dropped from a parent it lists go; children before what they use
        # (a bundle item before the question that conditions it).
        for spec in reversed(SHEETS):
            listed = self.in_workbook[spec.model]
            counts = summary.counts[spec.title]
            if spec.parent:
                parent_model = spec.model._meta.get_field(spec.parent).related_model
                parents = {key for (key,) in self.in_workbook[parent_model]}
                for key, obj in self.in_db[spec.model].items():
                    if key[0] in parents and key not in listed:
                        obj.delete()
                        counts.deleted += 1
            else:
                counts.kept = sum(1 for key in self.in_db[spec.model] if key not in listed)
        return summary
