"""The pre-check's rule kinds, evaluated without the database: facts in, findings out.

    evaluate(rules, facts) -> [Finding]

Facts (`Facts`): the form's answers, the shared-data facts by source kind (those fetched for
the application: ``identity`` name / birth date / sex, ``social_insurance`` months paid, ...),
the applicant's ID number, today, and the references of the applicant's other open
applications of the same bundle or item. A rule whose facts are missing does not fire: the
pre-check never guesses.

The kinds and their parameters (JSON)
-------------------------------------
- ``age_at_least``: ``{"id_field": <form field with the ID number; default the applicant's>,
  "at_field": <form date field; default today>, "male": <years>, "female": <years>}`` — the
  person's age (birth date and sex read from the ID number) at the date is at least the age for
  their sex (e.g. the statutory retirement age). Placeholders: {age}, {required}.
- ``contribution_years_at_least``: ``{"years": 15, "field": <optional form field, years>,
  "fact": <optional fact of the social-insurance record, default "months_paid">}`` — the
  social-insurance source's months paid (or the form's years) are at least `years`.
  Placeholders: {years}, {required}, {months} (the months paid, whole).
- ``dates_in_order``: ``{"fields": [<date field>, <date field>, ...]}`` — each date answered is
  not after the next one answered. Placeholders: {earlier}, {later} (the two dates).
- ``name_matches``: ``{"field": <form field with the name>, "source": "identity"}`` — the name
  typed equals the source's name (spaces ignored). No placeholders (names stay out of the
  stored message).
- ``duplicate_open_application``: ``{"person_fields": [<form fields with the person's ID
  number>, ...]}`` — no other open application of the same applicant for the same bundle (or
  single item) about the same person: when this form names a person in one of the fields (or
  its table of persons, ``form["persons"]``), only an open application naming one of them
  counts (an employer's filings for two employees are not duplicates). Placeholders:
  {references}.
- ``name_in_material``: ``{"material": <material code>, "field": <form field with the name>,
  "id_field": <optional form field with the ID number>}`` — the text read from the uploaded
  material (OCR of an image, the text of a PDF: ``Facts.material_texts``) contains the name
  (whitespace ignored) and, with `id_field`, the ID number (spaces ignored, X in any case). Not
  uploaded, or unreadable (no OCR engine, a failure): it does not fire. Evaluated after
  submission, in a task (precheck/tasks.py), never at submission itself. No placeholders.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

from django.db import models
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from kuaiban.accounts.identity import age_on, birth_date_of, sex_of


class RuleKind(models.TextChoices):
    AGE_AT_LEAST = "age_at_least", _("Age at least (from the ID number)")
    CONTRIBUTION_YEARS_AT_LEAST = "contribution_years_at_least", _("Contribution years at least")
    DATES_IN_ORDER = "dates_in_order", _("Dates in order")
    NAME_MATCHES = "name_matches", _("Name matches the shared data")
    DUPLICATE_OPEN_APPLICATION = "duplicate_open_application", _("No duplicate open application")
    NAME_IN_MATERIAL = "name_in_material", _("Name found in an uploaded material (OCR)")


class Severity(models.TextChoices):
    BLOCK = "block", _("Block: the application cannot be submitted")
    WARN = "warn", _("Warn the applicant")
    FLAG = "flag", _("Flag for the clerk")


PLACEHOLDERS: dict[str, set[str]] = {
    RuleKind.AGE_AT_LEAST: {"age", "required"},
    RuleKind.CONTRIBUTION_YEARS_AT_LEAST: {"years", "required", "months"},
    RuleKind.DATES_IN_ORDER: {"earlier", "later"},
    RuleKind.NAME_MATCHES: set(),
    RuleKind.DUPLICATE_OPEN_APPLICATION: {"references"},
    RuleKind.NAME_IN_MATERIAL: set(),
}

# Kinds that read the uploads' text: evaluated after submission, in a task (slow OCR).
AFTER_SUBMISSION = {RuleKind.NAME_IN_MATERIAL}


@dataclass(frozen=True)
class RuleSpec:
    code: str
    kind: str
    severity: str
    explanation_zh: str
    explanation_en: str = ""
    params: dict = field(default_factory=dict)
    key: int | None = None  # the caller's handle on the rule (its primary key), passed through


@dataclass(frozen=True)
class Facts:
    form: dict = field(default_factory=dict)
    shared: dict[str, dict] = field(default_factory=dict)
    applicant_id_number: str = ""
    today: date = date.min
    # The applicant's other open applications of the same bundle or item: (reference, form).
    open_applications: tuple[tuple[str, dict], ...] = ()
    # The text read from uploaded materials by code (None: uploaded but unreadable).
    material_texts: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message_zh: str
    message_en: str
    field: str = ""
    key: int | None = None

    @property
    def message(self) -> str:
        """In the active language (Chinese unless English is active and the rule has it)."""
        english = (get_language() or "").startswith("en")
        return (self.message_en if english else "") or self.message_zh


def params_errors(kind: str, params) -> list[str]:
    """What is wrong with a rule's parameters (empty: fine), for the admin."""
    if not isinstance(params, dict):
        return [gettext("The parameters are a JSON object.")]
    errors = []
    if kind == RuleKind.AGE_AT_LEAST:
        if not all(isinstance(params.get(s), int) for s in ("male", "female")):
            errors.append(gettext("“male” and “female” are whole years."))
    elif kind == RuleKind.CONTRIBUTION_YEARS_AT_LEAST:
        if not isinstance(params.get("years"), int | float):
            errors.append(gettext("“years” is a number."))
    elif kind == RuleKind.DATES_IN_ORDER:
        fields = params.get("fields")
        if not isinstance(fields, list) or len(fields) < 2:
            errors.append(gettext("“fields” lists at least two date fields."))
    elif kind == RuleKind.NAME_MATCHES and not params.get("field"):
        errors.append(gettext("“field” names the form field with the name."))
    elif kind == RuleKind.NAME_IN_MATERIAL:
        if not params.get("material"):
            errors.append(gettext("“material” is the code of the uploaded material."))
        if not params.get("field"):
            errors.append(gettext("“field” names the form field with the name."))
    return errors


def evaluate(rules: Iterable[RuleSpec], facts: Facts) -> list[Finding]:
    """The findings of `rules` on `facts`, in the rules' order."""
    findings = []
    for rule in rules:
        checked = CHECKS[rule.kind](rule.params or {}, facts)
        if checked is None:
            continue
        values, at_field = checked
        findings.append(
            Finding(
                rule=rule.code,
                severity=rule.severity,
                message_zh=_render(rule.explanation_zh, values),
                message_en=_render(rule.explanation_en, values),
                field=at_field,
                key=rule.key,
            )
        )
    return findings


Fired = tuple[dict, str] | None  # (the placeholders' values, the form field concerned) or None


def _render(template: str, values: dict) -> str:
    """The template with its {placeholders} filled; an unknown one is left as written."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(str(values[name]) if name in values else "{" + name + "}")
    return "".join(out)


def birth_and_sex(number: str) -> tuple[date, str] | None:
    number = (number or "").strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return None
    try:
        born = birth_date_of(number)
    except ValueError:
        return None
    return born, sex_of(number)


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None


def _age_at_least(params: dict, facts: Facts) -> Fired:
    id_field = params.get("id_field", "")
    number = str(facts.form.get(id_field) or "") if id_field else facts.applicant_id_number
    person = birth_and_sex(number)
    if person is None:
        return None
    born, sex = person
    required = params.get(sex)
    at_field = params.get("at_field", "")
    day = _date(facts.form.get(at_field)) if at_field else None
    age = age_on(born, day or facts.today)
    if not isinstance(required, int) or age >= required:
        return None
    return {"age": age, "required": required}, id_field


def _contribution_years(params: dict, facts: Facts) -> Fired:
    required = params.get("years", 15)
    fact = params.get("fact") or "months_paid"
    months = str(facts.shared.get("social_insurance", {}).get(fact) or "")
    form_field = params.get("field", "")
    typed = str(facts.form.get(form_field) or "") if form_field else ""
    try:
        if months:
            years = float(months) / 12
        elif typed:
            years = float(typed)
        else:
            return None
    except (TypeError, ValueError):
        return None
    if years >= required:
        return None
    shown = f"{years:.1f}".removesuffix(".0")
    return {"years": shown, "required": required, "months": round(years * 12)}, form_field


def _dates_in_order(params: dict, facts: Facts) -> Fired:
    answered = [
        (code, day) for code in params.get("fields", []) if (day := _date(facts.form.get(code)))
    ]
    for (_first, earlier), (second, later) in pairwise(answered):
        if earlier > later:
            return {"earlier": earlier.isoformat(), "later": later.isoformat()}, second
    return None


def _squeeze(name) -> str:
    return "".join(str(name or "").split())


def _name_matches(params: dict, facts: Facts) -> Fired:
    form_field = params.get("field", "")
    typed = _squeeze(facts.form.get(form_field))
    known = _squeeze(facts.shared.get(params.get("source", "identity"), {}).get("name"))
    if not typed or not known or typed == known:
        return None
    return {}, form_field


def _name_in_material(params: dict, facts: Facts) -> Fired:
    text = facts.material_texts.get(params.get("material", ""))
    name_field = params.get("field", "")
    name = _squeeze(facts.form.get(name_field))
    if not text or not name:
        return None  # not uploaded, unreadable or no name typed: nothing to compare
    read = _squeeze(text)
    if name not in read:
        return {}, name_field
    id_field = params.get("id_field", "")
    number = _squeeze(facts.form.get(id_field)).upper() if id_field else ""
    if number and number not in read.upper():
        return {}, id_field
    return None


def _people(form: dict, fields: list[str]) -> set[str]:
    """The ID numbers the form names in `fields`, also in its table of persons."""
    rows = [form, *(r for r in form.get("persons") or [] if isinstance(r, dict))]
    return {str(row.get(f) or "").strip().upper() for row in rows for f in fields} - {""}


def _duplicate(params: dict, facts: Facts) -> Fired:
    fields = [f for f in params.get("person_fields", []) if isinstance(f, str)]
    mine = _people(facts.form, fields)
    same = [
        reference
        for reference, form in facts.open_applications
        if not mine or mine & _people(form or {}, fields)
    ]
    if not same:
        return None
    return {"references": "、".join(same)}, ""


CHECKS: dict[str, Callable[[dict, Facts], Fired]] = {
    RuleKind.AGE_AT_LEAST: _age_at_least,
    RuleKind.CONTRIBUTION_YEARS_AT_LEAST: _contribution_years,
    RuleKind.DATES_IN_ORDER: _dates_in_order,
    RuleKind.NAME_MATCHES: _name_matches,
    RuleKind.DUPLICATE_OPEN_APPLICATION: _duplicate,
    RuleKind.NAME_IN_MATERIAL: _name_in_material,
}
