"""The catalog workbook: export, edit, import (kuaiban/catalog/excel/ and its two commands)."""

import io

import openpyxl
import pytest
import xlwt
from django.core.management import CommandError, call_command

from kuaiban.catalog.excel import (
    EXPORT_ORDER,
    SHEETS,
    CatalogImportError,
    catalog_export,
    catalog_import,
)
from kuaiban.catalog.models import (
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
from tests.builders import publish_drafts
from tests.catalog.dump import CATALOG_MODELS, catalog_dump
from tests.catalog.workbook import edit, find_row, header_index, set_cell

pytestmark = pytest.mark.django_db


@pytest.fixture
def form_fields() -> list[FormField]:
    """Form fields the workbook must carry whatever the reference data holds: a choice list whose
    choices contain "、" (one per line in the cell), an optional field, a field no item asks."""
    items = list(ServiceItem.objects.order_by("code")[:3])
    choice = FormField.objects.create(
        code="xl_test_choice",
        label_zh="测试选项",
        label_en="Test choice",
        kind=FormField.Kind.CHOICE,
        choices="农、林、牧、渔业\n制造业\n其他（请说明）",
        required=False,
        help_zh="选一项",
        order=901,
    )
    choice.items.set(items)
    unused = FormField.objects.create(
        code="xl_test_unused", label_zh="测试备用", kind=FormField.Kind.LONG_TEXT, order=902
    )
    return [choice, unused]


@pytest.fixture
def exported(tmp_path, form_fields):
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)
    return path


def halvable_item() -> ServiceItem:
    """A time-limited item whose committed limit is held to 50% of its statutory limit."""
    return (
        ServiceItem.objects.filter(
            kind=ServiceItem.Kind.TIME_LIMITED,
            statutory_mode=False,
            statutory_limit__gte=6,
            committed_limit__isnull=False,
        )
        .exclude(statutory_unit="none")
        .order_by("code")
        .first()
    )


def test_every_model_field_has_a_column():
    assert {spec.model for spec in SHEETS} == set(CATALOG_MODELS)
    for spec in SHEETS:
        # (not the guide's version number and date: the legal review sets them, no workbook)
        fields = {
            f.name for f in spec.model._meta.concrete_fields if not f.primary_key and f.editable
        }
        fields |= {
            f.name
            for f in spec.model._meta.many_to_many
            if f.remote_field.through._meta.auto_created
        }
        columns = {c.field for c in spec.columns if not c.echo}
        assert fields == columns, spec.title


def test_export_writes_the_sheets_with_frozen_headers(exported, form_fields):
    book = openpyxl.load_workbook(exported)
    assert book.sheetnames == [spec.title for spec in EXPORT_ORDER]
    assert book.sheetnames[:2] == ["附件1 打包一件事清单", "附件2 提速办事项清单"]
    bundle_list = book["附件1 打包一件事清单"]
    assert [c.value for c in bundle_list[1]][:11] == [
        "一件事编码",
        "一件事名称",
        "英文名称",
        "申请人类型",
        "牵头单位编码",
        "受理窗口编码",
        "阶段",
        "事项编码",
        "事项名称",
        "纳入条件问题编码",
        "条件答案(是/否)",
    ]
    assert bundle_list.max_row - 1 == BundleItem.objects.count()
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["A"].width > 0
    # Several items on one speed-up line are joined by "、".
    entry = next(e for e in SpeedUpEntry.objects.all() if e.items.count() > 1)
    speedup = book["附件2 提速办事项清单"]
    row = find_row(speedup, "序号", entry.number)
    codes = speedup.cell(row, header_index(speedup)["事项编码"]).value
    assert codes == "、".join(sorted(entry.items.values_list("code", flat=True)))
    # A form field's choices: one per line in one wrapped cell; its items joined by "、".
    choice = form_fields[0]
    fields = book["表单字段"]
    row = find_row(fields, "字段编码", choice.code)
    cell = fields.cell(row, header_index(fields)["选项"])
    assert cell.value == choice.choices
    assert cell.alignment.wrap_text
    assert fields.cell(row, header_index(fields)["类型"]).value == "单选"
    assert fields.cell(row, header_index(fields)["必填"]).value == "否"
    items = fields.cell(row, header_index(fields)["适用事项编码"]).value
    assert items == "、".join(sorted(choice.items.values_list("code", flat=True)))


def test_importing_the_export_changes_nothing(exported):
    before = catalog_dump()
    summary = catalog_import(exported)
    assert catalog_dump() == before
    assert all(c.created == c.updated == c.deleted == 0 for c in summary.counts.values())
    assert summary.counts["事项"].unchanged == ServiceItem.objects.count()


def test_round_trip_restores_an_altered_catalog(exported, form_fields):
    before = catalog_dump()
    # Alter every kind of row the workbook carries.
    item = halvable_item()
    ServiceItem.objects.filter(pk=item.pk).update(
        committed_limit=1, legal_basis="改过", channel_mobile=False, summary_en=""
    )
    linked = ItemMaterial.objects.filter(item=item).first()
    material = linked.material
    ItemMaterial.objects.filter(material=material).delete()
    material.delete()  # comes back from the workbook under the same code
    Material.objects.filter(code=Material.objects.first().code).update(
        shared_data=True, commitment_text="临时"
    )
    question = BundleQuestion.objects.filter(bundleitem__isnull=False).first()
    BundleItem.objects.filter(condition=question).delete()
    question.delete()
    Bundle.objects.filter(pk=question.bundle_id).update(fee="收费", is_published=False)
    BundleItem.objects.filter(condition__isnull=True).update(stage=9)
    entry = SpeedUpEntry.objects.first()
    entry.items.clear()
    entry.note = ""
    entry.save()
    hall = ServiceHall.objects.first()
    hall.windows.clear()
    Unit.objects.update(phone="0000")
    Window.objects.update(name_en="")
    District.objects.update(name_zh="改名")
    choice, unused = form_fields
    FormField.objects.filter(pk=choice.pk).update(
        kind=FormField.Kind.TEXT, choices="", required=True, label_en="", order=0
    )
    choice.items.set([item])
    unused.delete()  # comes back from the workbook under the same code
    assert catalog_dump() != before

    summary = catalog_import(exported)

    # The guides' changes wait for legal review; everything else is back already.
    assert ServiceItem.objects.get(pk=item.pk).committed_limit == 1
    assert summary.counts["事项"].drafts > 0
    assert summary.counts["一件事"].drafts > 0
    publish_drafts()
    assert catalog_dump() == before
    assert summary.counts["材料"].created == 1
    assert summary.counts["事项"].updated == 1
    assert summary.counts["事项材料"].created == linked_count(before, material.code)
    assert summary.counts["部门"].updated == Unit.objects.count()
    assert summary.counts["表单字段"].created == 1
    assert summary.counts["表单字段"].updated == 1
    assert FormField.objects.get(code=choice.code).choice_list == [
        "农、林、牧、渔业",
        "制造业",
        "其他（请说明）",
    ]


def linked_count(dump, material_code: str) -> int:
    return sum(1 for row in dump["ItemMaterial"] if row["material"] == material_code)


def test_rule_an_edited_committed_limit_is_a_draft_until_approved(exported):
    item = halvable_item()
    new_limit = item.statutory_limit // 2 - 1
    assert new_limit != item.committed_limit

    def change(book):
        sheet = book["事项"]
        set_cell(sheet, find_row(sheet, "事项编码", item.code), "承诺时限", new_limit)

    edit(exported, change)
    summary = catalog_import(exported)

    published = (item.committed_limit, item.guide_version)
    item.refresh_from_db()
    assert (item.committed_limit, item.guide_version) == published
    assert summary.counts["事项"].updated == summary.counts["事项"].drafts == 1
    assert summary.counts["事项"].unchanged == ServiceItem.objects.count() - 1
    assert "服务指南修订稿 1" in str(summary)

    (version,) = publish_drafts()
    item.refresh_from_db()
    assert item.committed_limit == new_limit
    assert item.guide_version == version.number == published[1] + 1


def test_three_bad_cells_are_all_reported_and_nothing_changes(exported):
    item = halvable_item()
    too_long = item.statutory_limit // 2 + 1
    bundle = Bundle.objects.order_by("code").first()
    cancelled = Material.objects.filter(cancelled=True).order_by("code").first()
    assert cancelled is not None, "the reference catalog lists cancelled proofs"
    rows = {}

    def change(book):
        items = book["事项"]
        rows["事项"] = find_row(items, "事项编码", item.code)
        set_cell(items, rows["事项"], "承诺时限", too_long)
        bundles = book["一件事"]
        rows["一件事"] = find_row(bundles, "一件事编码", bundle.code)
        set_cell(bundles, rows["一件事"], "牵头单位编码", "NO-SUCH-UNIT")
        links = book["事项材料"]
        links.append([item.code, cancelled.code, "", 9])
        rows["事项材料"] = links.max_row

    edit(exported, change)
    before = catalog_dump()

    with pytest.raises(CatalogImportError) as refused:
        catalog_import(exported)

    problems = refused.value.problems
    assert {(p.sheet, p.row, p.column) for p in problems} == {
        ("事项", rows["事项"], "承诺时限"),
        ("一件事", rows["一件事"], "牵头单位编码"),
        ("事项材料", rows["事项材料"], "材料编码"),
    }
    assert len(problems) == 3
    by_sheet = {p.sheet: p for p in problems}
    assert str(item.statutory_limit // 2) in by_sheet["事项"].message
    assert str(by_sheet["事项"]).startswith(f"工作表“事项”第{rows['事项']}行“承诺时限”：")
    assert "NO-SUCH-UNIT" in by_sheet["一件事"].message
    assert cancelled.code in by_sheet["事项材料"].message
    assert catalog_dump() == before


def test_a_bad_kind_and_an_unknown_item_in_form_fields_are_both_reported(exported, form_fields):
    choice, unused = form_fields
    rows = {}

    def change(book):
        sheet = book["表单字段"]
        rows["kind"] = find_row(sheet, "字段编码", choice.code)
        set_cell(sheet, rows["kind"], "类型", "下拉框")
        rows["items"] = find_row(sheet, "字段编码", unused.code)
        set_cell(sheet, rows["items"], "适用事项编码", "NO-SUCH-ITEM")

    edit(exported, change)
    before = catalog_dump()

    with pytest.raises(CatalogImportError) as refused:
        catalog_import(exported)

    problems = refused.value.problems
    assert {(p.sheet, p.row, p.column) for p in problems} == {
        ("表单字段", rows["kind"], "类型"),
        ("表单字段", rows["items"], "适用事项编码"),
    }
    by_column = {p.column: p for p in problems}
    assert "下拉框" in by_column["类型"].message
    assert "未知的事项编码“NO-SUCH-ITEM”" in by_column["适用事项编码"].message
    assert str(by_column["类型"]).startswith(f"工作表“表单字段”第{rows['kind']}行“类型”：")
    assert catalog_dump() == before


def test_a_material_cancelled_in_the_workbook_cannot_stay_required(exported):
    link = ItemMaterial.objects.select_related("item", "material").order_by("pk").first()
    before = catalog_dump()

    def cancel(book):
        sheet = book["材料"]
        set_cell(sheet, find_row(sheet, "材料编码", link.material.code), "已取消证明", "是")

    edit(exported, cancel)
    with pytest.raises(CatalogImportError) as refused:
        catalog_import(exported)

    links = book_rows_with(exported, "事项材料", "材料编码", link.material.code)
    assert {(p.sheet, p.row, p.column) for p in refused.value.problems} == {
        ("事项材料", row, "材料编码") for row in links
    }
    assert catalog_dump() == before


def book_rows_with(path, title: str, column: str, value) -> list[int]:
    sheet = openpyxl.load_workbook(path)[title]
    col = header_index(sheet)[column]
    return [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, col).value == value]


def test_rule_a_material_is_cancelled_once_no_published_guide_requires_it(exported, tmp_path):
    material = ItemMaterial.objects.order_by("pk").first().material

    def unlink(book):
        links = book["事项材料"]
        for row in reversed(book_rows_in(links, "材料编码", material.code)):
            links.delete_rows(row)

    def cancel(book):
        set_cell(
            book["材料"], find_row(book["材料"], "材料编码", material.code), "已取消证明", "是"
        )

    # Dropped from the items and cancelled in one workbook: the published guides still require
    # it until the legal review approves the drafts, so the cancellation is refused.
    edit(exported, lambda book: (unlink(book), cancel(book)))
    with pytest.raises(CatalogImportError) as refused:
        catalog_import(exported)
    assert {p.sheet for p in refused.value.problems} == {"材料"}

    unlinking = tmp_path / "unlink.xlsx"
    catalog_export(unlinking)
    edit(unlinking, unlink)
    summary = catalog_import(unlinking)
    assert summary.counts["事项材料"].deleted > 0
    assert ItemMaterial.objects.filter(material=material).exists()  # the published guides
    publish_drafts()
    assert not ItemMaterial.objects.filter(material=material).exists()

    cancelling = tmp_path / "cancel.xlsx"
    catalog_export(cancelling)
    edit(cancelling, cancel)
    catalog_import(cancelling)
    material.refresh_from_db()
    assert material.cancelled


def book_rows_in(sheet, column: str, value) -> list[int]:
    col = header_index(sheet)[column]
    return [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, col).value == value]


def test_rows_left_out_keep_entities_but_composition_follows_the_workbook(exported):
    item = ServiceItem.objects.filter(bundles__isnull=True, itemmaterial__isnull=False).first()
    item = item or ServiceItem.objects.filter(itemmaterial__isnull=False).first()
    bundle_item = BundleItem.objects.select_related("bundle", "item").order_by("pk").first()

    def drop(book):
        links = book["事项材料"]
        for row in reversed(book_rows_in(links, "事项编码", item.code)):
            links.delete_rows(row)
        bundle_list = book["附件1 打包一件事清单"]
        for row in reversed(book_rows_in(bundle_list, "一件事编码", bundle_item.bundle.code)):
            if bundle_list.cell(row, header_index(bundle_list)["事项编码"]).value == (
                bundle_item.item.code
            ):
                bundle_list.delete_rows(row)
        units = book["部门"]
        units.delete_rows(find_row(units, "部门编码", item.unit.code))
        items = book["事项"]
        other = ServiceItem.objects.exclude(pk=item.pk).order_by("code").last()
        items.delete_rows(find_row(items, "事项编码", other.code))
        # its links must go too: they name an item the workbook no longer lists
        for row in reversed(book_rows_in(links, "事项编码", other.code)):
            links.delete_rows(row)

    edit(exported, drop)
    summary = catalog_import(exported)
    publish_drafts()  # the items' materials and the bundle's items are guide changes

    assert not ItemMaterial.objects.filter(item=item).exists()
    assert not BundleItem.objects.filter(pk=bundle_item.pk).exists()
    assert Unit.objects.filter(code=item.unit.code).exists()
    assert summary.counts["部门"].kept == 1
    assert summary.counts["事项"].kept == 1


def test_stored_values_and_new_rows_are_accepted(exported):
    def add(book):
        units = book["部门"]
        units.append(["NEW-UNIT", "新部门", "", "internal", ""])
        items = book["事项"]
        template = [c.value for c in items[2]]
        items.append(template)
        row = items.max_row
        for column, value in {
            "事项编码": "NEW-ITEM",
            "办理单位编码": "NEW-UNIT",
            "办件类型": "time_limited",
            "法定时限": 20,
            "法定时限单位": "working_days",
            "承诺时限": "10",
            "承诺时限单位": "工作日",
            "保留法定时限": "N",
            "已发布": "yes",
        }.items():
            set_cell(items, row, column, value)
        material = Material.objects.filter(cancelled=False).first()
        book["事项材料"].append(["NEW-ITEM", material.code, "新增", 1])

    edit(exported, add)
    summary = catalog_import(exported)

    item = ServiceItem.objects.get(code="NEW-ITEM")
    assert (item.unit.code, item.kind, item.committed_limit) == ("NEW-UNIT", "time_limited", 10)
    assert item.statutory_unit == item.committed_unit == "working_days"
    assert item.materials.count() == 1
    assert summary.counts["部门"].created == summary.counts["事项"].created == 1


def test_a_missing_sheet_and_a_file_that_is_not_excel_are_refused(exported, tmp_path):
    edit(exported, lambda book: book.remove(book["情形问题"]))
    with pytest.raises(CatalogImportError, match="缺少工作表“情形问题”"):
        catalog_import(exported)
    text = tmp_path / "catalog.xlsx.txt"
    text.write_text("编码,名称\n")
    with pytest.raises(CatalogImportError, match="不是Excel工作簿"):
        catalog_import(text)


def xlsx_to_xls(source, target) -> None:
    """The bureau's legacy format: the same sheets and values, written by xlwt."""
    legacy = xlwt.Workbook(encoding="utf-8")
    for sheet in openpyxl.load_workbook(source, read_only=True).worksheets:
        out = legacy.add_sheet(sheet.title)
        for r, values in enumerate(sheet.iter_rows(values_only=True)):
            for c, value in enumerate(values):
                if value is None:
                    continue
                # Old files often hold codes typed as numbers (the district codes).
                if sheet.title == "区县" and r > 0 and c == 0:
                    value = int(value)
                out.write(r, c, value)
    legacy.save(str(target))


def test_a_legacy_xls_workbook_restores_the_catalog(exported, tmp_path, form_fields):
    before = catalog_dump()
    legacy = tmp_path / "catalog.xls"
    xlsx_to_xls(exported, legacy)
    item = halvable_item()
    ServiceItem.objects.filter(pk=item.pk).update(committed_limit=1, name_en="changed")
    ItemMaterial.objects.filter(item=item).delete()
    District.objects.update(name_en="")
    choice = form_fields[0]
    FormField.objects.filter(pk=choice.pk).update(choices="其他", required=True)
    choice.items.clear()

    summary = catalog_import(legacy)
    publish_drafts()

    assert catalog_dump() == before
    assert summary.counts["事项"].updated == 1
    assert summary.counts["区县"].updated == District.objects.count()
    assert summary.counts["表单字段"].updated == 1


def test_export_catalog_command_writes_the_workbook(tmp_path):
    path = tmp_path / "out.xlsx"
    call_command("export_catalog", str(path), stdout=io.StringIO())
    book = openpyxl.load_workbook(path)
    assert "事项" in book.sheetnames
    assert book["事项"].max_row == ServiceItem.objects.count() + 1


def test_export_catalog_into_a_folder_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        call_command("export_catalog", str(tmp_path / "missing" / "out.xlsx"))


def test_what_export_catalog_writes_import_catalog_reads_back_unchanged(tmp_path, form_fields):
    before = catalog_dump()
    path = tmp_path / "目录.xlsx"
    out = io.StringIO()
    call_command("export_catalog", str(path), stdout=out)
    assert f"事项：{ServiceItem.objects.count()} 行" in out.getvalue()
    assert f"已导出到 {path}" in out.getvalue()

    out = io.StringIO()
    call_command("import_catalog", str(path), stdout=out)

    assert catalog_dump() == before
    lines = out.getvalue().splitlines()
    assert lines[-1] == "目录已导入"
    assert {spec.title for spec in SHEETS} == {line.split("：")[0] for line in lines[:-1]}
    assert all("新增 0，更新 0，" in line for line in lines[:-1])


def test_import_catalog_command_refuses_a_missing_file(tmp_path):
    before = catalog_dump()
    with pytest.raises(CommandError) as refused:
        call_command("import_catalog", str(tmp_path / "nowhere.xlsx"))
    assert "有 1 处错误，未导入任何内容" in str(refused.value)
    assert "无法读取文件" in str(refused.value)
    assert catalog_dump() == before


def test_import_catalog_command_lists_every_error(exported):
    def spoil(book):
        items = book["事项"]
        set_cell(items, 2, "办件类型", "很快")
        set_cell(items, 3, "受理窗口编码", "NO-WINDOW")

    edit(exported, spoil)
    before = catalog_dump()
    with pytest.raises(CommandError) as refused:
        call_command("import_catalog", str(exported))

    message = str(refused.value)
    assert "2 处错误" in message
    assert "工作表“事项”第2行“办件类型”" in message
    assert "工作表“事项”第3行“受理窗口编码”：未知的窗口编码“NO-WINDOW”" in message
    assert catalog_dump() == before


def test_import_catalog_command_prints_the_summary(exported):
    out = io.StringIO()
    call_command("import_catalog", str(exported), stdout=out)
    assert f"事项：新增 0，更新 0，未变 {ServiceItem.objects.count()}" in out.getvalue()


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    formula = '=HYPERLINK("http://example.invalid","点此")'
    Material.objects.filter(code=Material.objects.first().code).update(description=formula)
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)
    sheet = openpyxl.load_workbook(path)["材料"]
    cell = sheet.cell(find_row(sheet, "说明", formula), header_index(sheet)["说明"])
    assert cell.data_type == "s"


def test_names_that_look_like_formulas_are_written_as_text_and_read_back_unchanged(tmp_path):
    """The formula guard (kuaiban/xlsx.py) covers names typed by the bureau, not only free text:
    a name starting with = + - @ is a text cell, quote-prefixed, and imports as the same name."""
    names = ["=SUM(1,2)事项", "+1+1事项", "-1+1事项", "@SUM(1)事项"]
    items = list(ServiceItem.objects.filter(bundles__isnull=False).distinct().order_by("code")[:4])
    assert len(items) == 4
    for item, name in zip(items, names, strict=True):
        ServiceItem.objects.filter(pk=item.pk).update(name_zh=name)
    Unit.objects.filter(pk=items[0].unit_id).update(name_zh='=HYPERLINK("x","单位")')
    before = catalog_dump()
    path = tmp_path / "catalog.xlsx"
    catalog_export(path)

    book = openpyxl.load_workbook(path)
    for title, column in (("事项", "事项名称"), ("附件1 打包一件事清单", "事项名称")):
        sheet = book[title]
        for name in names:
            cell = sheet.cell(find_row(sheet, column, name), header_index(sheet)[column])
            assert (cell.data_type, cell.quotePrefix) == ("s", True), (title, name)
    units = book["部门"]
    name_column = header_index(units)["中文名称"]
    cell = units.cell(find_row(units, "中文名称", '=HYPERLINK("x","单位")'), name_column)
    assert (cell.data_type, cell.quotePrefix) == ("s", True)
    plain = units.cell(
        find_row(units, "部门编码", Unit.objects.exclude(pk=items[0].unit_id).first().code),
        name_column,
    )
    assert (plain.data_type, plain.quotePrefix) == ("s", False)  # other text is left alone

    summary = catalog_import(path)
    assert summary.counts["事项"].updated == summary.counts["部门"].updated == 0
    assert catalog_dump() == before


def test_over_long_texts_are_reported_by_sheet_row_and_column_and_nothing_is_imported(
    exported, form_fields
):
    """Names and texts over their columns' maximum lengths, and a form field's own maximum out of
    range: each a message naming its cell, instead of a database error, and no change."""
    unit = Unit.objects.order_by("code").first()
    material = Material.objects.order_by("code").first()
    rows = {}

    def change(book):
        units = book["部门"]
        rows["部门"] = find_row(units, "部门编码", unit.code)
        set_cell(units, rows["部门"], "中文名称", "很长的部门名称" * 40)  # 280 > 200
        materials = book["材料"]
        rows["材料"] = find_row(materials, "材料编码", material.code)
        set_cell(materials, rows["材料"], "说明", "说明" * 1001)  # 2002 > 2000
        fields = book["表单字段"]
        rows["表单字段"] = find_row(fields, "字段编码", form_fields[1].code)
        set_cell(fields, rows["表单字段"], "最长字数", 99999)

    edit(exported, change)
    before = catalog_dump()

    with pytest.raises(CatalogImportError) as refused:
        catalog_import(exported)

    problems = refused.value.problems
    assert {(p.sheet, p.row, p.column) for p in problems} == {
        ("部门", rows["部门"], "中文名称"),
        ("材料", rows["材料"], "说明"),
        ("表单字段", rows["表单字段"], "最长字数"),
    }
    by_sheet = {p.sheet: p for p in problems}
    assert "200" in by_sheet["部门"].message and "280" in by_sheet["部门"].message
    assert "2000" in by_sheet["材料"].message
    assert "5000" in by_sheet["表单字段"].message
    assert catalog_dump() == before


def test_a_form_fields_maximum_length_round_trips_through_the_workbook(exported, form_fields):
    def change(book):
        fields = book["表单字段"]
        set_cell(fields, find_row(fields, "字段编码", form_fields[1].code), "最长字数", 500)

    edit(exported, change)
    catalog_import(exported)
    form_fields[1].refresh_from_db()
    assert form_fields[1].max_length == form_fields[1].answer_max_length == 500


def test_catalog_texts_have_maximum_lengths_the_admin_forms_and_validation_enforce():
    from django.contrib import admin
    from django.core.exceptions import ValidationError
    from django.test import RequestFactory

    from tests.factories import UserFactory

    text_fields = [
        (model, field)
        for model in CATALOG_MODELS
        for field in model._meta.concrete_fields
        if field.get_internal_type() in ("CharField", "TextField")
    ]
    assert text_fields and all(field.max_length for _model, field in text_fields)

    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    form_class = admin.site._registry[ServiceItem].get_form(request)
    assert form_class.base_fields["summary_zh"].max_length == 2000
    item = ServiceItem.objects.order_by("code").first()
    item.summary_zh = "很" * 2001
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert set(refused.value.message_dict) == {"summary_zh"}
