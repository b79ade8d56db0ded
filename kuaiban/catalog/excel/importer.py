"""Importing the workbook the bureau sends back: all or nothing, every problem listed.

Every sheet is parsed into rows, every row planned (matched by natural key, references resolved,
checked with the models' own rules) before anything is written; then one transaction applies the
plan and checks the rules that need the final state. See the package's docstring for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import translation

from .. import guide_versions
from ..models import Bundle, GuideVersion, Material, ServiceItem
from ..tables import catalog_tables
from .cells import CellError, Ref, Refs, blank
from .reader import RawSheet, read_workbook
from .results import CatalogImportError, Counts, ImportProblem, ImportSummary
from .schema import EXPORT_ORDER, SHEET_OF_MODEL, SHEETS, Column, Sheet, queryset_of, value_at


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


def catalog_import(path, *, proposed_by=None) -> ImportSummary:
    """Check the workbook completely, then apply it in one transaction. Raises
    `CatalogImportError` with every problem found, having changed nothing.

    Service guides pass legal review: a change to an item's or a bundle's guide (limits, texts,
    fee, channels, materials, a bundle's items) becomes a draft version for the legal-review
    unit (`guide_versions.hold_for_review`), and the published guide stays as it was; a new item
    or bundle is created unpublished, its first version a draft."""
    book = read_workbook(path)
    with translation.override("zh-hans"):
        return _Import(book, proposed_by).run()


_UNRESOLVED = object()  # a code that names nothing; reported where it was found


def _key_part(obj: models.Model, name: str):
    """A part of the natural key as the workbook writes it: a referenced row by its code."""
    value = getattr(obj, name)
    return value.serializable_value("code") if isinstance(value, models.Model) else value


def _field_values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields}


def _sync_foreign_keys(instance: models.Model) -> None:
    # A row may point at a row created earlier in this import; copy the now-known id.
    for f in instance._meta.concrete_fields:
        if isinstance(f, models.ForeignKey) and f.is_cached(instance):
            target = f.get_cached_value(instance)
            setattr(instance, f.attname, target.pk if target is not None else None)


class _Import:
    def __init__(self, book: dict[str, RawSheet], proposed_by=None):
        self.book = book
        self.proposed_by = proposed_by
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
            sheet_rows = rows[spec]
            if sheet_rows is not None:  # else reported (and raised just above)
                self.plan_sheet(spec, sheet_rows)
        self.fail_if_problems()
        with transaction.atomic():
            guides_before = {
                model: guide_versions.snapshots(model, self.planned_ids(model))
                for model in (ServiceItem, Bundle)
            }
            summary = self.apply()
            self.hold_guides(summary, guides_before)
            self.check_final_state()
            self.fail_if_problems()  # rolls the transaction back
            # Its queryset updates send no signal: every process's catalog tables, once it commits.
            catalog_tables.invalidate()
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
            if all(blank(v) for v in values):
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
                tuple(_key_part(obj, name) for name in spec.key): obj for obj in queryset_of(spec)
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
                self.problem(
                    row,
                    column.header if column is not None else "",
                    f"“{key[-1]}”重复（已见于第{first_seen[key]}行）",
                )
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
                value = self.resolve(row, column, column.cell, value)
                if value is _UNRESOLVED:
                    row.bad.add(column.field)
                    continue
            elif isinstance(column.cell, Refs):
                plan.m2m[column.field] = self.resolve_many(row, column, column.cell, value)
                continue
            elif value is None:
                model_field = instance._meta.get_field(column.field)
                if isinstance(model_field, models.Field):  # (a column is never a reverse relation)
                    value = model_field.get_default()
            setattr(instance, column.field, value)

    def resolve(self, row: _Row, column: Column, ref: Ref, code: str | None):
        """The row `column`'s cell `ref` names, or `_UNRESOLVED` (reported)."""
        if code is None:
            return None
        spec = SHEET_OF_MODEL[ref.model]
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

    def resolve_many(self, row: _Row, column: Column, ref: Refs, codes: list[str]) -> list:
        spec = SHEET_OF_MODEL[ref.model]
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
            if isinstance(f, models.ForeignKey) and f.is_cached(instance):
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
                source = value_at(instance, column.field)
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
                model_field = row.spec.model._meta.get_field(name)
                label = model_field.verbose_name if isinstance(model_field, models.Field) else name
                self.problem(row, "", f"{label}：{message}")

    def check_final_state(self) -> None:
        for plan in self.planned:
            if plan.row.spec.rules_need_final_state:
                try:
                    plan.instance.full_clean()
                except ValidationError as error:
                    self.report_validation(plan.row, error)

    def planned_ids(self, model: type[models.Model]) -> list[int]:
        return [p.instance.pk for p in self.planned if p.row.spec.model is model and p.instance.pk]

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
                if not isinstance(parent_model, type):  # a class, once the apps are loaded
                    raise TypeError(f"{spec.title}: {spec.parent} is not a foreign key")
                parents = {key for (key,) in self.in_workbook[parent_model]}
                for key, obj in self.in_db[spec.model].items():
                    if key[0] in parents and key not in listed:
                        obj.delete()
                        counts.deleted += 1
            else:
                counts.kept = sum(1 for key in self.in_db[spec.model] if key not in listed)
        return summary

    def hold_guides(self, summary: ImportSummary, guides_before: dict) -> None:
        """Guide changes become drafts for legal review; the published guides stay."""
        for model, before in guides_before.items():
            for plan in self.planned:
                if plan.row.spec.model is model and plan.before is None:
                    before[plan.instance.pk] = None  # created by this import
            title = SHEET_OF_MODEL[model].title
            try:
                drafts = guide_versions.hold_for_review(
                    model, before, proposed_by=self.proposed_by, source=GuideVersion.Source.WORKBOOK
                )
            except ValidationError as error:
                for message in error.messages:
                    self.problem(
                        None,
                        "",
                        f"{message}（服务指南的修改须先经政策法规处审核发布）",
                        sheet=title,
                    )
                continue
            summary.counts[title].drafts += len(drafts)
            # Whatever 已发布 says, a guide never approved is not public.
            model._default_manager.filter(pk__in=before, guide_version__isnull=True).update(
                is_published=False
            )
