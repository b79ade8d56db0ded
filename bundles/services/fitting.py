"""Forms that fit the applicant (issue 16 part 5): the answers a citizen's real-name identity
gives for their own application, and the table of persons of an application for several
employees (an enterprise hiring several people in one B01 application).

The table is stored as `form_data["persons"]` (a list of {field code: answer}); the first
person's answers are also the top-level answers of the per-person fields, so everything that
reads one answer per field (the staff pages, shared data looked up by a typed number, the
exports) keeps working. One item case per item covers every listed person (a batch filing).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.cases.models import Application
from kuaiban.catalog.models import FormField

from ..fitting import MAX_PERSONS, PERSONS_KEY, fitting_for
from ..selectors import PlannedItem, required_form_fields
from .applications import application_save_form, clean_form_value
from .guards import lock_application, require_editable, require_editor


def refresh_identity_answers(application: Application, planned: list[PlannedItem]) -> None:
    """Put the applicant's identity into the answers it gives (rule IDENTITY-PREFILL): at
    submission, so a draft saved before the real-name check carries the verified values. The
    caller holds the application's lock and saves it (the submission's transition writes the
    row): no query."""
    identity = fitting_for(application, required_form_fields(application, planned)).identity
    data = application.form_data or {}
    if identity and any(data.get(code) != value for code, value in identity.items()):
        application.form_data = {**data, **identity}


def clean_persons(
    rows: list[dict[str, str]], person_fields: list[FormField], numbers: list[int] | None = None
) -> tuple[list[dict[str, str]], dict[int, dict[str, list[str]]]]:
    """Validate the table row by row with the form's own rules (rule PERSONS-PER-ROW): ID
    numbers by their check digit, each required field given, no person listed twice. Entirely
    empty rows are dropped. Returns the cleaned rows and the errors by row number and field
    code: the row as the person counts it (1-based), or `numbers` (a workbook's row numbers)."""
    cleaned: list[dict[str, str]] = []
    errors: dict[int, dict[str, list[str]]] = {}
    seen_ids: dict[str, int] = {}
    pairs = list(zip(numbers or range(1, len(rows) + 1), rows, strict=False))
    numbered = [(n, row) for n, row in pairs if any(str(v or "").strip() for v in row.values())]
    if numbers is None:
        numbered = [(n, row) for n, (_old, row) in enumerate(numbered, start=1)]
    for number, row in numbered:
        values, row_errors = {}, {}
        for form_field in person_fields:
            try:
                values[form_field.code] = clean_form_value(
                    form_field, str(row.get(form_field.code, "") or "")
                )
            except ValidationError as error:
                row_errors[form_field.code] = error.messages
            else:
                if form_field.kind == FormField.Kind.RESIDENT_ID and values[form_field.code]:
                    first = seen_ids.setdefault(values[form_field.code], number)
                    if first != number:
                        row_errors[form_field.code] = [
                            _("The same ID number is already listed in row %(number)d.")
                            % {"number": first}
                        ]
        if row_errors:
            errors[number] = row_errors
        cleaned.append(values)
    if len(cleaned) > MAX_PERSONS:
        errors.setdefault(0, {})["__all__"] = [
            _("List at most %(max)d persons in one application.") % {"max": MAX_PERSONS}
        ]
    return cleaned, errors


def persons_error(errors: dict[int, dict[str, list[str]]], person_fields) -> ValidationError:
    """One ValidationError naming each row and field (“第 3 行：身份证号码：…”)."""
    labels = {f.code: f.label for f in person_fields}
    messages = []
    for number, by_field in sorted(errors.items()):
        for code, texts in by_field.items():
            for text in texts:
                if number == 0:
                    messages.append(text)
                else:
                    messages.append(
                        _("Row %(row)d, %(field)s: %(error)s")
                        % {"row": number, "field": labels.get(code, code), "error": text}
                    )
    return ValidationError({PERSONS_KEY: messages})


@transaction.atomic
def application_save_persons(
    *,
    application: Application,
    actor,
    rows: list[dict[str, str]],
    numbers: list[int] | None = None,
) -> Application:
    """Store the table of persons of an application for several persons (all rows valid, at
    least one person), or raise a ValidationError under "persons" naming each bad row. The first
    person's answers are also stored as the per-person fields' own answers."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    fitting = fitting_for(application, required_form_fields(application))
    if not fitting.several_persons:
        raise ValidationError({PERSONS_KEY: [_("This application is for one person.")]})
    cleaned, errors = clean_persons(rows, fitting.person_fields, numbers)
    if not cleaned and not errors:
        errors[0] = {"__all__": [_("List at least one person.")]}
    if errors:
        raise persons_error(errors, fitting.person_fields)
    application.form_data = {**(application.form_data or {}), **cleaned[0], PERSONS_KEY: cleaned}
    application.save(update_fields=["form_data"])
    return application


@transaction.atomic
def application_save_form_and_persons(
    *,
    application: Application,
    actor,
    data: dict[str, str],
    rows: list[dict[str, str]],
    delivery: str | None = None,
    address: str = "",
) -> Application:
    """The one form of an application for several persons: its own answers and the table, each
    kept when valid; raises one ValidationError with the errors of both (table errors under
    "persons"). The first row also answers the per-person fields of the form."""
    errors: dict[str, list[str]] = {}
    first = next((row for row in rows if any((value or "").strip() for value in row.values())), {})
    try:
        # Not inside a savepoint of ours: the valid answers it saves must stay when it raises.
        application = application_save_form(
            application=application,
            actor=actor,
            data={**data, **first},
            delivery=delivery,
            address=address,
        )
    except ValidationError as error:
        # A bad first row is reported once, in the table (with its row number).
        fields = fitting_for(application, required_form_fields(application)).person_codes
        errors.update({k: v for k, v in error.message_dict.items() if k not in fields})
    try:
        with transaction.atomic():
            application = application_save_persons(application=application, actor=actor, rows=rows)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return application
