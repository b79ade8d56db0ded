"""The one form fitted to its applicant (see `bundles/fitting.py`): identity answers shown
read-only, and the table of persons of an application for several employees — posted as
`person-<row>-<field code>` cells (a row more with the "add a person" button, no script needed),
or filled from an Excel template (`persons_workbook`, `persons_from_workbook`)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from kuaiban.accounts.identity import mask_phone, mask_resident_id
from kuaiban.catalog.models import FormField
from kuaiban.xlsx import guarded_sheet

from .fitting import MAX_PERSONS, PERSONS_KEY, Fitting

_SHOWN = {
    FormField.Prefill.APPLICANT_ID_NUMBER: mask_resident_id,
    FormField.Prefill.APPLICANT_PHONE: mask_phone,
}


def fit_form(form, fitting: Fitting) -> None:
    """Make the answers the applicant's identity gives read-only, showing them (ID and phone
    masked: the service stores the real values, whatever is posted)."""
    by_code = {f.code: f for f in form.catalog_fields}
    for code, value in fitting.identity.items():
        form_field = form.fields.get(code)
        if form_field is None:
            continue
        shown = _SHOWN.get(by_code[code].prefill)
        form_field.disabled = True
        form_field.help_text = _("From your real-name identity.")
        form.initial[code] = shown(value) if shown else value


@dataclass
class PersonCell:
    name: str
    field: FormField
    value: str


@dataclass
class PersonRow:
    number: int
    cells: list[PersonCell]


@dataclass
class PersonsTable:
    """The table of persons as shown: the fields, the rows (typed or stored), the errors."""

    fields: list[FormField]
    rows: list[dict[str, str]]
    errors: list[str] = field(default_factory=list)
    # A row was added or removed (a button, not the form's submit): show the rows, save nothing.
    adding: bool = False

    @classmethod
    def of(cls, request, application, fitting: Fitting) -> "PersonsTable | None":
        if not fitting.several_persons:
            return None
        fields = fitting.person_fields
        if request.method == "POST" and "persons_count" in request.POST:
            count = _bounded(request.POST.get("persons_count"))
            rows = [
                {f.code: request.POST.get(f"person-{n}-{f.code}", "") for f in fields}
                for n in range(count)
            ]
            adding = "add_person" in request.POST
            if adding and count < MAX_PERSONS:
                rows.append({f.code: "" for f in fields})
            removed = request.POST.get("remove_person")
            if removed is not None:
                adding = True  # the rows changed: show them again, save nothing
                index = _bounded(removed) - 1
                if len(rows) > 1 and index < len(rows):
                    del rows[index]
            return cls(fields, rows, adding=adding)
        stored = (application.form_data or {}).get(PERSONS_KEY) or []
        rows = [{f.code: str(row.get(f.code, "")) for f in fields} for row in stored]
        return cls(fields, rows or [{f.code: "" for f in fields}])

    @property
    def table(self) -> list[PersonRow]:
        return [
            PersonRow(
                n + 1,
                [PersonCell(f"person-{n}-{f.code}", f, row.get(f.code, "")) for f in self.fields],
            )
            for n, row in enumerate(self.rows)
        ]

    @property
    def count(self) -> int:
        return len(self.rows)


def _bounded(raw) -> int:
    try:
        return max(1, min(int(raw), MAX_PERSONS))
    except (TypeError, ValueError):
        return 1


# -- the Excel template -------------------------------------------------------------------------

SHEET_TITLE = "人员名单"


def _header(form_field: FormField) -> str:
    return f"{form_field.label}*" if form_field.required else form_field.label


def persons_workbook(person_fields: list[FormField], rows: list[dict]) -> bytes:
    """The template to fill in: one column per per-person field (required ones marked *), one
    row per person already listed; choices are listed in a second sheet."""
    book = Workbook(write_only=True)
    widths = [(_header(f), 40 if f.kind == FormField.Kind.LONG_TEXT else 24) for f in person_fields]
    sheet = guarded_sheet(book, SHEET_TITLE, widths)
    for row in rows:
        sheet.append([row.get(f.code, "") for f in person_fields])
    notes = guarded_sheet(book, _("How to fill in"), [(_("Column"), 24), (_("What to enter"), 60)])
    for form_field in person_fields:
        notes.append([form_field.label, _kind_note(form_field)])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _kind_note(form_field: FormField) -> str:
    if form_field.kind == FormField.Kind.CHOICE:
        return _("One of: %(choices)s") % {"choices": "、".join(form_field.choice_list)}
    if form_field.kind == FormField.Kind.DATE:
        return _("A date as YYYY-MM-DD")
    if form_field.kind == FormField.Kind.RESIDENT_ID:
        return _("18 characters, entered as text")
    return form_field.help or ""


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def persons_from_workbook(upload, person_fields: list[FormField]) -> tuple[list[dict], list[int]]:
    """The rows of a filled-in template and their sheet row numbers (blank rows skipped).
    Raises ValidationError when the file is not the template (not a workbook, a column missing)."""
    try:
        book = load_workbook(upload, read_only=True, data_only=True)
    except Exception:  # any unreadable file gets the same answer
        raise ValidationError(_("This file is not an Excel workbook (.xlsx).")) from None
    try:
        sheet = book[SHEET_TITLE] if SHEET_TITLE in book.sheetnames else book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = [_cell_text(v).rstrip("*") for v in next(lines, ())]
        columns = {}
        for form_field in person_fields:
            if form_field.label in header:
                columns[form_field.code] = header.index(form_field.label)
        missing = [f.label for f in person_fields if f.code not in columns]
        if missing:
            raise ValidationError(
                _("The workbook lacks the columns: %(columns)s. Download the template again.")
                % {"columns": "、".join(missing)}
            )
        rows, numbers = [], []
        for number, line in enumerate(lines, start=2):
            values = {
                code: _cell_text(line[index]) if index < len(line) else ""
                for code, index in columns.items()
            }
            if any(values.values()):
                rows.append(values)
                numbers.append(number)
            if len(rows) > MAX_PERSONS:
                break
        return rows, numbers
    finally:
        book.close()
