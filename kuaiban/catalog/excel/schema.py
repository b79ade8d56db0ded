"""The workbook's sheets: one declarative spec per sheet, read by both the writer and the importer
(so whatever the writer puts in a cell, the importer accepts back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models

from kuaiban.shareddata.kinds import DataKind
from kuaiban.workdays.units import ITEM_LIMIT_UNITS

from ..models import (
    Bundle,
    BundleItem,
    BundleQuestion,
    District,
    FormField,
    ItemMaterial,
    LifeEvent,
    Material,
    ServiceHall,
    ServiceItem,
    SpeedUpEntry,
    Unit,
    VisitTarget,
    Window,
)
from .cells import Bool, Choice, Code, Int, Lines, Ref, Refs, Text


class ImportRun(Protocol):
    """What a sheet's own check may read of the import in progress (the importer's `_Import`)."""

    cancelled_in_db: set[str]


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
    checks: tuple[Callable[[Any, ImportRun], dict[str, str]], ...] = ()
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


def _material_not_cancelled(link: ItemMaterial, run: ImportRun) -> dict[str, str]:
    # The plan: a cancelled proof may never be required again, whichever side says it is
    # cancelled (the database, or the workbook's 材料 sheet).
    material = getattr(link, "material", None)  # unset when its code was unknown
    if material is None:
        return {}
    if material.cancelled or material.code in run.cancelled_in_db:
        return {"material": f"材料“{material.code}”是已取消的证明事项，不得再要求提交"}
    return {}


LIFE_EVENTS = Sheet(
    "生活事件",
    LifeEvent,
    key=("code",),
    columns=(
        Column("生活事件编码", "code", Code(), required=True),
        *NAMES,
        Column("顺序", "order", Int()),
    ),
    order_by=("order", "code"),
)

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
        Column("审核服务指南", "reviews_guides", Bool()),
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
        Column("共享数据源", "data_source", Choice(DataKind)),
        Column("共享数据标识", "data_source_key", Text(16)),
        Column("可告知承诺", "commitment_allowed", Bool()),
        Column("承诺内容", "commitment_text", Text(40)),
        Column("需纸质原件", "physical", Bool()),
        Column("网上申请由在线表单替代", "replaced_by_online_form", Bool()),
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
        Column("跑动承诺", "visit_target", Choice(VisitTarget)),
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
    columns=(
        *BUNDLE_HEAD,
        Column("生活事件编码", "life_event", Ref(LifeEvent, "生活事件")),
        Column("可多人申报", "allows_several_persons", Bool()),
        *GUIDE,
    ),
    order_by=("code",),
    related=("lead_unit", "window", "life_event"),
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
        Column("本人申请时名称（中文）", "label_self_zh", Text(16)),
        Column("本人申请时名称（英文）", "label_self_en", Text(16)),
        Column("取自申请人实名身份", "prefill", Choice(FormField.Prefill)),
        Column("逐人填写", "per_person", Bool()),
        Column("类型", "kind", Choice(FormField.Kind)),
        Column("选项", "choices", Lines()),
        Column("最长字数", "max_length", Int()),
        Column("必填", "required", Bool()),
        Column("说明（中文）", "help_zh", Text(30)),
        Column("说明（英文）", "help_en", Text(30)),
        Column("顺序", "order", Int()),
        Column("不早于（字段编码）", "not_before", Code(24)),
        Column("适用事项编码", "items", Refs(ServiceItem, "事项", width=40)),
    ),
    order_by=("order", "code"),
    prefetch=("items",),
)

# Import order: whatever a row refers to comes first.
SHEETS = (
    LIFE_EVENTS,
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
    LIFE_EVENTS,
)
SHEET_OF_MODEL = {spec.model: spec for spec in SHEETS}


def value_at(obj, path: str):
    """The value at a dotted path (`bundle.name_zh`); None past an unset reference."""
    for name in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


def queryset_of(spec: Sheet):
    """The sheet's rows in the database, in workbook order, with what the columns read."""
    return (
        spec.model._default_manager.select_related(*spec.related)
        .prefetch_related(*spec.prefetch)
        .order_by(*spec.order_by)
    )
