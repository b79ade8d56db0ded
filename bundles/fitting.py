"""Forms that fit the applicant (issue 16 part 5), decided from catalog data only:

- A citizen applying for themselves is not asked about themselves as if about someone else: a
  form field with a `prefill` source takes the answer from their real-name identity (shown
  read-only, stored in the form data so staff see it), and its `label_self` wording. An
  enterprise's or a family member's login never fills a field: the person the field is about is
  someone else (the employee, the deceased).
- A bundle that `allows_several_persons` (an enterprise hiring several employees) asks its
  `per_person` fields once per person, in a table stored as `form_data["persons"]`.

Reads only; the services (`bundles.services.applications`, `bundles.services.persons`) apply it.
"""

import copy
from dataclasses import dataclass, field

from kuaiban.accounts.models import Role
from kuaiban.cases.models import Application
from kuaiban.catalog.models import Bundle, FormField

# The form_data key of the table of persons (a list of {field code: answer}).
PERSONS_KEY = "persons"
# The most persons one application lists (a larger intake is several applications).
MAX_PERSONS = 200

# The bundle applicant types for which a citizen account applies for themselves (a family
# member applies about someone else: the deceased, the injured worker).
SELF_APPLICANT_TYPES = frozenset({Bundle.Applicant.CITIZEN, Bundle.Applicant.CITIZEN_OR_ENTERPRISE})


def applies_for_self(application: Application) -> bool:
    """A citizen account applying for themselves: a single item, or a bundle a citizen applies
    for on their own behalf (never a family bundle, never an enterprise's login)."""
    if application.applicant.role != Role.CITIZEN:
        return False
    bundle = application.bundle
    return bundle is None or bundle.applicant in SELF_APPLICANT_TYPES


def allows_several_persons(application: Application) -> bool:
    """An application listing several persons (the bundle says so; never a citizen's own)."""
    bundle = application.bundle
    return bool(
        bundle is not None
        and bundle.allows_several_persons
        and application.applicant.role != Role.CITIZEN
    )


def identity_value(applicant, source: str) -> str:
    """The applicant's verified-identity value a prefill source names ("" if none is known:
    an unverified registrant types it, and the verified value replaces it at submission)."""
    if not (applicant.is_verified or applicant.window_only):
        return ""
    if source == FormField.Prefill.APPLICANT_NAME:
        return (applicant.real_name or "").strip()
    if source == FormField.Prefill.APPLICANT_ID_NUMBER:
        return applicant.resident_id or ""
    if source == FormField.Prefill.APPLICANT_PHONE:
        return applicant.phone or ""
    return ""


@dataclass
class Fitting:
    """How the one form fits this application's applicant."""

    for_self: bool
    several_persons: bool
    # Field code → answer from the applicant's identity (only fields whose value is known).
    identity: dict[str, str] = field(default_factory=dict)
    person_fields: list[FormField] = field(default_factory=list)

    @property
    def person_codes(self) -> set[str]:
        return {f.code for f in self.person_fields}

    def as_asked(
        self, form_fields: list[FormField], form_data: dict | None = None
    ) -> list[FormField]:
        """The fields of the form as this applicant is asked them: without the per-person ones
        (in the table instead; kept when `form_data` is given and has no table, as answered
        before there was one), and in the self wording for a citizen's own application (copies;
        the catalog rows are not changed)."""
        shown = []
        in_table = self.person_codes
        if form_data is not None and not form_data.get(PERSONS_KEY):
            in_table = set()
        for form_field in form_fields:
            if form_field.code in in_table:
                continue
            if self.for_self and (form_field.label_self_zh or form_field.label_self_en):
                form_field = copy.copy(form_field)
                form_field.label_zh = form_field.label_self_zh or form_field.label_zh
                form_field.label_en = form_field.label_self_en or form_field.label_en
            shown.append(form_field)
        return shown


def fitting_for(application: Application, form_fields: list[FormField]) -> Fitting:
    """The fitting of `form_fields` (the application's required fields) to its applicant."""
    for_self = applies_for_self(application)
    several = allows_several_persons(application)
    fitting = Fitting(for_self=for_self, several_persons=several)
    for form_field in form_fields:
        if several and form_field.per_person:
            fitting.person_fields.append(form_field)
            continue
        if for_self and form_field.prefill != FormField.Prefill.NONE:
            value = identity_value(application.applicant, form_field.prefill)
            if value:
                fitting.identity[form_field.code] = value
    return fitting


def with_identity_answers(application: Application, data: dict, form_fields: list[FormField]):
    """The posted answers with those from the applicant's identity put in (whatever was posted
    for them: a read-only field is not the applicant's to change)."""
    identity = fitting_for(application, form_fields).identity
    return {**data, **identity} if identity else data


def persons_shown(fitting: Fitting, form_data: dict) -> list[list[tuple[FormField, str]]]:
    """The table of persons as pages show it: per person, (field, answer) in field order (the
    templates mask personal numbers for staff)."""
    if not fitting.several_persons:
        return []
    return [
        [(f, str(person.get(f.code, ""))) for f in fitting.person_fields]
        for person in (form_data or {}).get(PERSONS_KEY) or []
    ]
