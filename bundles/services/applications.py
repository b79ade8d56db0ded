"""Drafts of applications: opening one, the situation questions, the one form, the result
delivery, and withdrawal (打包办: one form, one set of materials, once).

Every function: keyword-only arguments with the acting user explicit, one transaction, the row
locked before it changes, one `CaseEvent` per transition in the same transaction, and messages
queued in the outbox to go out after commit.
"""

import re
import unicodedata
import uuid
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.identity import birth_date_of, normalize_phone, normalize_resident_id
from kuaiban.cases import uploads
from kuaiban.cases.events import record_event, transition
from kuaiban.cases.models import (
    FINAL_CASE_STATES,
    OPEN_APPLICATION_STATES,
    Application,
    ApplicationState,
    EventAction,
)
from kuaiban.cases.references import reference_number
from kuaiban.catalog.models import Bundle, FormField, ServiceItem
from kuaiban.departments import webhooks as department_webhooks

from ..fitting import PERSONS_KEY, with_identity_answers
from ..selectors import required_form_fields, required_materials, situation_question_codes
from .guards import (
    lock_application,
    notify_applicant,
    require_editable,
    require_editor,
    require_open_to,
    require_owner,
)

# -- drafts ------------------------------------------------------------------------------------


def application_start(
    *,
    applicant,
    bundle: Bundle | None = None,
    item: ServiceItem | None = None,
    start_key: uuid.UUID | None = None,
    actor=None,
    channel: str = Application.Channel.ONLINE,
    hall=None,
) -> Application:
    """Open a draft. The same start key (one per 'apply' button) always gives the same draft.

    Online the applicant opens it; at a window (channel WINDOW) the clerk is the `actor` and
    opens it on the applicant's behalf in the clerk's `hall`."""
    application, _created = application_start_once(
        applicant=applicant,
        bundle=bundle,
        item=item,
        start_key=start_key,
        actor=actor,
        channel=channel,
        hall=hall,
    )
    return application


def _keyed_draft(applicant, start_key: uuid.UUID, bundle, item) -> Application | None:
    """The applicant's own application opened with this key for this service, if any."""
    return Application.objects.filter(
        submission_key=start_key, applicant=applicant, bundle=bundle, item=item
    ).first()


def _own_key(applicant, start_key: uuid.UUID, bundle, item) -> uuid.UUID | None:
    """The key this applicant's draft of this service goes under: the posted one, unless it
    opened another application; then one derived from it for this applicant and service (so
    posting that page twice still gives one draft), or None (a fresh key) if that is taken too."""
    taken = Application.objects.filter(submission_key=start_key).exclude(
        applicant=applicant, bundle=bundle, item=item
    )
    if not taken.exists():
        return start_key
    subject = f"bundle:{bundle.pk}" if bundle is not None else f"item:{item.pk}"
    derived = uuid.uuid5(start_key, f"{applicant.pk}:{subject}")
    taken = Application.objects.filter(submission_key=derived).exclude(
        applicant=applicant, bundle=bundle, item=item
    )
    return None if taken.exists() else derived


def application_start_once(
    *,
    applicant,
    bundle: Bundle | None = None,
    item: ServiceItem | None = None,
    start_key: uuid.UUID | None = None,
    actor=None,
    channel: str = Application.Channel.ONLINE,
    hall=None,
) -> tuple[Application, bool]:
    """`application_start`, and whether this call created the draft (False: the same key,
    applicant and service had opened it already, by an earlier click or a simultaneous one).

    A start key is the applicant's own: a key that opened someone else's application (or
    another service) starts a fresh draft under a new key and never reveals or touches that
    application."""
    if (bundle is None) == (item is None):
        raise ValueError("an application is for a bundle or for a single item")
    require_open_to(bundle, applicant)
    if start_key is not None:
        start_key = _own_key(applicant, start_key, bundle, item)
        existing = _keyed_draft(applicant, start_key, bundle, item) if start_key else None
        if existing:
            return existing, False
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    reference=reference_number(now),
                    applicant=applicant,
                    bundle=bundle,
                    item=item,
                    submission_key=start_key or uuid.uuid4(),
                    channel=channel,
                    hall=hall,
                    created_at=now,
                )
                record_event(
                    application=application,
                    action=EventAction.CREATE,
                    actor=actor or applicant,
                    to_state=ApplicationState.DRAFT,
                )
        except IntegrityError:
            # A simultaneous second click with the same key won the race: use its draft.
            if start_key is not None:
                existing = _keyed_draft(applicant, start_key, bundle, item)
                if existing is not None:
                    return existing, False
            # Someone else's key taken meanwhile, or a reference drawn twice: draw again.
            start_key = None
            continue
        return application, True
    raise IntegrityError("no unique reference number and start key after three attempts")


@transaction.atomic
def application_answer_questions(*, application: Application, actor, answers: dict[str, bool]):
    """Store the questionnaire answers; they decide the items, the form and the materials."""
    application = lock_application(application)
    require_editor(application, actor)
    require_editable(application)
    codes = situation_question_codes(application)
    missing = codes - answers.keys()
    if missing:
        raise ValidationError(_("Please answer every question."))
    application.answers = {code: bool(answers[code]) for code in codes}
    application.save(update_fields=["answers"])
    # Materials no longer needed after changed answers are dropped, not left dangling.
    needed = {entry.material.pk for entry in required_materials(application)}
    dropped = application.materials.exclude(material_id__in=needed)
    files = list(dropped.values_list("file_id", flat=True))
    dropped.delete()
    uploads.discard_unused(files)
    application.commitments.exclude(material_id__in=needed).delete()
    return application


_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")


def _number(value: str) -> str:
    """An amount as people write it ("8,500", "8，500", "８５００", "8500.00") as a plain
    number ("8500"). Commas group thousands only, so "1,5" is refused, never read as 15."""
    text = unicodedata.normalize("NFKC", value).replace(" ", "")
    if not (_GROUPED_NUMBER.fullmatch(text) or _PLAIN_NUMBER.fullmatch(text)):
        raise ValidationError(_("Enter a number, such as 8500 or 8,500.50."), code="number")
    number = Decimal(text.replace(",", ""))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _month(value: str) -> str:
    """A month as YYYY-MM (also read from "2025/7", "2025年7月")."""
    found = _MONTH.fullmatch(unicodedata.normalize("NFKC", value))
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise ValidationError(_("Enter a month as YYYY-MM, for example 2025-07."), code="month")
    return f"{found.group(1)}-{int(found.group(2)):02d}"


def clean_form_value(form_field: FormField, raw: str):
    """Validate one answer of the form by the field's kind; returns the stored value."""
    value = (raw or "").strip()
    if not value:
        if form_field.required:
            raise ValidationError(_("This field is required."), code="required")
        return ""
    form_field.check_answer_length(value)
    if form_field.kind == FormField.Kind.RESIDENT_ID:
        return normalize_resident_id(value)
    if form_field.kind == FormField.Kind.PHONE:
        return normalize_phone(value)
    if form_field.kind == FormField.Kind.DATE:
        try:
            return datetime.strptime(value, "%Y-%m-%d").date().isoformat()  # noqa: DTZ007
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None
    if form_field.kind == FormField.Kind.MONTH:
        return _month(value)
    if form_field.kind == FormField.Kind.NUMBER:
        return _number(value)
    if form_field.kind == FormField.Kind.CHOICE and value not in form_field.choice_list:
        raise ValidationError(_("Choose one of the options."))
    if form_field.kind == FormField.Kind.YES_NO and value not in ("yes", "no"):
        raise ValidationError(_("Answer yes or no."))
    if form_field.kind == FormField.Kind.BANK_ACCOUNT and not value.replace(" ", "").isdigit():
        raise ValidationError(_("A bank account number has digits only."))
    return value.replace(" ", "") if form_field.kind == FormField.Kind.BANK_ACCOUNT else value


def cross_field_errors(form_fields, values: dict[str, str]) -> dict[str, list[str]]:
    """The catalog's rules between answers (FormField.not_before: an end not before its start,
    a date not before the date of birth, or the birth date an ID number field carries), checked
    on cleaned values: each field whose answer
    comes before the one it names, with a message naming that field. A rule whose other field
    is not on this form, or not answered, is not checked."""
    by_code = {f.code: f for f in form_fields}
    errors: dict[str, list[str]] = {}
    for form_field in form_fields:
        other = by_code.get(form_field.not_before) if form_field.not_before else None
        mine = values.get(form_field.code) or ""
        theirs = values.get(other.code) or "" if other is not None else ""
        if other is None or not mine or not theirs:
            continue
        if other.kind == FormField.Kind.RESIDENT_ID:
            # A person's ID number: the date of birth it carries (a date after birth).
            theirs = birth_date_of(theirs).isoformat()
            message = _(
                "This may not be earlier than the date of birth in “%(other)s” (%(value)s)."
            )
        else:
            message = _("This may not be earlier than “%(other)s” (%(value)s).")
        precision = min(len(mine), len(theirs))  # a month (YYYY-MM) against a date: by month
        if mine[:precision] < theirs[:precision]:
            errors[form_field.code] = [message % {"other": other.label, "value": theirs}]
    return errors


def form_data_errors(form_fields, data: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    """Every answer checked by its kind, then the rules between answers: (the valid answers,
    normalised; the errors by field code). An answer failing a rule is not among the valid."""
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for form_field in form_fields:
        try:
            cleaned[form_field.code] = clean_form_value(form_field, data.get(form_field.code, ""))
        except ValidationError as error:
            errors[form_field.code] = error.messages
    for code, messages in cross_field_errors(form_fields, cleaned).items():
        errors[code] = messages
        del cleaned[code]
    return cleaned, errors


ADDRESS_MAX_LENGTH = Application._meta.get_field("delivery_address").max_length or 300


def application_save_form(
    *,
    application: Application,
    actor,
    data: dict[str, str],
    delivery: str | None = None,
    address: str = "",
) -> Application:
    """Validate and store the one form and, when given, how the results are delivered. Raises
    a ValidationError mapping field codes (and `delivery`, `delivery_address`) to errors.

    What is valid is saved as the draft even when something else is not (the page promises it):
    each valid answer replaces the stored one, an invalid answer leaves the stored one as it
    was (or none), and an invalid delivery leaves the stored delivery. The errors are raised
    after the save has committed (in its own savepoint when the caller holds a transaction), so
    they never roll it back; submission checks the stored answers again."""
    errors = _save_form_valid_part(
        application=application, actor=actor, data=data, delivery=delivery, address=address
    )
    if errors:
        raise ValidationError(errors)
    return application


@transaction.atomic
def _save_form_valid_part(
    *, application: Application, actor, data: dict[str, str], delivery: str | None, address: str
) -> dict[str, list[str]]:
    locked = lock_application(application)
    require_editor(locked, actor)
    require_editable(locked)
    form_fields = required_form_fields(locked)
    # A citizen's own application: the answers their real-name identity gives (read-only).
    data = with_identity_answers(locked, data, form_fields)
    cleaned, errors = form_data_errors(form_fields, data)
    stored = locked.form_data or {}
    locked.form_data = {
        f.code: cleaned[f.code] if f.code in cleaned else stored[f.code]
        for f in form_fields
        if f.code in cleaned or f.code in stored
    }
    if PERSONS_KEY in stored:  # the table of persons is saved apart
        locked.form_data[PERSONS_KEY] = stored[PERSONS_KEY]
    fields = ["form_data"]
    if delivery is not None:
        if delivery not in Application.Delivery.values:
            errors["delivery"] = [_("Choose how to receive the results.")]
        elif delivery == Application.Delivery.MAIL and not address.strip():
            errors["delivery_address"] = [_("Give the postal address for the results.")]
        elif len(address.strip()) > ADDRESS_MAX_LENGTH:
            errors["delivery_address"] = [
                _("Please keep the address to %(limit)d characters or fewer.")
                % {"limit": ADDRESS_MAX_LENGTH}
            ]
        else:
            locked.delivery = delivery
            mailed = delivery == Application.Delivery.MAIL
            locked.delivery_address = address.strip() if mailed else ""
            fields += ["delivery", "delivery_address"]
    locked.save(update_fields=fields)
    # The caller's object shows what was stored.
    application.form_data = locked.form_data
    application.delivery, application.delivery_address = locked.delivery, locked.delivery_address
    return errors


@transaction.atomic
def application_withdraw(*, application: Application, actor, reason: str = "") -> Application:
    """The applicant withdraws before conclusion; every open item case is withdrawn with it."""
    application = lock_application(application)
    require_owner(application, actor)
    if application.state == ApplicationState.WITHDRAWN:
        return application
    if application.state not in (ApplicationState.DRAFT, *OPEN_APPLICATION_STATES):
        raise ValidationError(_("A concluded or refused application cannot be withdrawn."))
    was_draft = application.state == ApplicationState.DRAFT
    transition(application, "withdraw", actor=actor, action=EventAction.WITHDRAW, reason=reason)
    for case in application.cases.select_for_update().exclude(state__in=FINAL_CASE_STATES):
        transition(case, "withdraw", actor=actor, action=EventAction.WITHDRAW, reason=reason)
    if was_draft:
        # Nothing was submitted: the draft's documents are not kept (unless reused elsewhere).
        files = list(application.materials.values_list("file_id", flat=True))
        application.materials.all().delete()
        uploads.discard_unused(files)
    else:
        department_webhooks.application_closed(application, "withdrawn")
        notify_applicant(
            application,
            _("Application %(reference)s withdrawn") % {"reference": application.reference},
            _("Your application %(reference)s has been withdrawn.")
            % {"reference": application.reference},
        )
    return application
