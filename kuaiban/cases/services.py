"""State changes of applications and item cases.

Every function: keyword-only arguments with the acting user explicit, one transaction, the row
locked before the transition, one `CaseEvent` per transition in the same transaction, and
notifications queued to go out after commit.
"""

import secrets
import uuid
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.identity import normalize_phone, normalize_resident_id
from kuaiban.accounts.models import Role
from kuaiban.catalog.models import Bundle, FormField, Material, ServiceItem
from kuaiban.notifications.services import notify
from kuaiban.requestid import current_request_id

from . import clocks, uploads
from .models import (
    FINAL_CASE_STATES,
    OPEN_APPLICATION_STATES,
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseEvent,
    CaseState,
    Commitment,
    ItemCase,
    StoredFile,
)
from .selectors import planned_items, required_form_fields, required_materials

# Reference numbers avoid letters that read like digits (I, L, O, U).
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Conflict(Exception):
    """Someone else changed the record first; the user should reload and look again."""


def _new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"KB{timezone.localtime(now):%Y%m%d}{suffix}"


def record_event(
    *,
    application: Application,
    action: str,
    actor=None,
    item_case: ItemCase | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        application=application,
        item_case=item_case,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        request_id=current_request_id.get(),
        data=data or {},
    )


def transition(obj, name: str, *, actor, action: str, reason: str = "", data=None) -> CaseEvent:
    """Run one FSM transition on a locked application or item case, save it, and record the
    event in the same transaction. A case's sweep key follows its new state."""
    from_state = obj.state
    getattr(obj, name)()
    if isinstance(obj, ItemCase):
        clocks.refresh_next_flag(obj)
        application, item_case = obj.application, obj
    else:
        application, item_case = obj, None
    obj.save()
    return record_event(
        application=application,
        item_case=item_case,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=obj.state,
        reason=reason,
        data=data,
    )


def _lock(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


def _require_owner(application: Application, actor) -> None:
    if application.applicant_id != actor.pk:
        raise PermissionDenied


def _is_window_clerk(application: Application, actor) -> bool:
    """A clerk serving the application's intake window (the bundle's, or the single item's)."""
    return (
        actor.role == Role.CLERK and actor.windows.filter(pk=application.subject.window_id).exists()
    )


def _require_editor(application: Application, actor) -> None:
    """The applicant; or, for an application taken in person (一窗受理, channel WINDOW), a clerk
    of its window acting on the applicant's behalf."""
    if application.applicant_id == actor.pk:
        return
    if application.channel == Application.Channel.WINDOW and _is_window_clerk(application, actor):
        return
    raise PermissionDenied


def _require_editable(application: Application) -> None:
    if application.state not in (ApplicationState.DRAFT, ApplicationState.RETURNED):
        raise ValidationError(_("This application has been submitted and can no longer be edited."))


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
    if (bundle is None) == (item is None):
        raise ValueError("an application is for a bundle or for a single item")
    if start_key is not None:
        existing = Application.objects.filter(submission_key=start_key, applicant=applicant).first()
        if existing:
            return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                reference=_new_reference(now),
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
                action="create",
                actor=actor or applicant,
                to_state=ApplicationState.DRAFT,
            )
    except IntegrityError:
        # A simultaneous second click with the same key won the race: use its draft.
        existing = Application.objects.filter(submission_key=start_key, applicant=applicant).first()
        if existing is None:
            raise
        return existing
    return application


@transaction.atomic
def application_answer_questions(*, application: Application, actor, answers: dict[str, bool]):
    """Store the questionnaire answers; they decide the items, the form and the materials."""
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    codes = set(application.bundle.questions.values_list("code", flat=True))
    missing = codes - answers.keys()
    if missing:
        raise ValidationError(_("Please answer every question."))
    application.answers = {code: bool(answers[code]) for code in codes}
    application.save(update_fields=["answers"])
    # Materials no longer needed after changed answers are dropped, not left dangling.
    needed = {entry.material.pk for entry in required_materials(application)}
    application.materials.exclude(material_id__in=needed).delete()
    application.commitments.exclude(material_id__in=needed).delete()
    return application


def clean_form_value(form_field: FormField, raw: str):
    """Validate one answer of the form by the field's kind; returns the stored value."""
    value = (raw or "").strip()
    if not value:
        if form_field.required:
            raise ValidationError(_("This field is required."))
        return ""
    if form_field.kind == FormField.Kind.RESIDENT_ID:
        return normalize_resident_id(value)
    if form_field.kind == FormField.Kind.PHONE:
        return normalize_phone(value)
    if form_field.kind == FormField.Kind.DATE:
        try:
            return datetime.strptime(value, "%Y-%m-%d").date().isoformat()  # noqa: DTZ007
        except ValueError:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None
    if form_field.kind == FormField.Kind.NUMBER:
        try:
            return str(float(value)) if "." in value else str(int(value))
        except ValueError:
            raise ValidationError(_("Enter a number.")) from None
    if form_field.kind == FormField.Kind.CHOICE and value not in form_field.choice_list:
        raise ValidationError(_("Choose one of the options."))
    if form_field.kind == FormField.Kind.YES_NO and value not in ("yes", "no"):
        raise ValidationError(_("Answer yes or no."))
    if form_field.kind == FormField.Kind.BANK_ACCOUNT and not value.replace(" ", "").isdigit():
        raise ValidationError(_("A bank account number has digits only."))
    return value.replace(" ", "") if form_field.kind == FormField.Kind.BANK_ACCOUNT else value


@transaction.atomic
def application_save_form(*, application: Application, actor, data: dict[str, str]):
    """Validate and store the one form. Raises a ValidationError mapping field codes to errors;
    nothing is stored unless every field is valid, but the caller keeps what was typed."""
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    cleaned, errors = {}, {}
    for form_field in required_form_fields(application):
        try:
            cleaned[form_field.code] = clean_form_value(form_field, data.get(form_field.code, ""))
        except ValidationError as error:
            errors[form_field.code] = error.messages
    if errors:
        raise ValidationError(errors)
    application.form_data = cleaned
    application.save(update_fields=["form_data"])
    return application


@transaction.atomic
def application_choose_delivery(*, application: Application, actor, delivery: str, address: str):
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    if delivery not in Application.Delivery.values:
        raise ValidationError({"delivery": _("Choose how to receive the results.")})
    if delivery == Application.Delivery.MAIL and not address.strip():
        raise ValidationError({"delivery_address": _("Give the postal address for the results.")})
    application.delivery = delivery
    application.delivery_address = address.strip() if delivery == Application.Delivery.MAIL else ""
    application.save(update_fields=["delivery", "delivery_address"])
    return application


# -- materials ---------------------------------------------------------------------------------


def _needed_material(application: Application, material: Material):
    for entry in required_materials(application):
        if entry.material.pk == material.pk:
            return entry
    raise ValidationError(_("This application does not need that material."))


def _provide(application, material, provision, *, file=None, reused=False) -> ApplicationMaterial:
    if provision != ApplicationMaterial.Provision.COMMITMENT:
        application.commitments.filter(material=material).delete()
    provided, _created = ApplicationMaterial.objects.update_or_create(
        application=application,
        material=material,
        defaults={
            "provision": provision,
            "file": file,
            "reused": reused,
            "provided_at": timezone.now(),
        },
    )
    return provided


@transaction.atomic
def material_upload(
    *, application: Application, actor, material: Material, upload
) -> ApplicationMaterial:
    """Store an uploaded document once for the application; every item needing it shares it."""
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    _needed_material(application, material)
    # The file is the applicant's, also when a clerk scans it at the window.
    owner = application.applicant
    if StoredFile.objects.filter(owner=owner).count() >= uploads.max_files_per_applicant():
        raise ValidationError(_("You have reached the maximum number of uploaded files."))
    stored = uploads.store(owner=owner, material=material, upload=upload)
    return _provide(application, material, ApplicationMaterial.Provision.UPLOAD, file=stored)


@transaction.atomic
def material_reuse(*, application: Application, actor, material: Material, stored_file: StoredFile):
    """Use a document the applicant uploaded for an earlier application (材料复用)."""
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    _needed_material(application, material)
    if stored_file.owner_id != application.applicant_id or stored_file.material_id != material.pk:
        raise ValidationError(_("That file cannot be used for this material."))
    return _provide(
        application, material, ApplicationMaterial.Provision.UPLOAD, file=stored_file, reused=True
    )


@transaction.atomic
def material_commit(
    *, application: Application, actor, material: Material, signed_name: str
) -> Commitment:
    """Replace a proof by a signed commitment (告知承诺制), where the catalog allows it."""
    application = _lock(application)
    _require_editor(application, actor)
    _require_editable(application)
    _needed_material(application, material)
    if not material.commitment_allowed:
        raise ValidationError(_("This material cannot be replaced by a commitment."))
    # The applicant commits and signs, also when a clerk records it at the window.
    applicant = application.applicant
    if applicant.commitment_barred_at:
        raise ValidationError(
            _("A commitment of yours was found false; please provide the proof itself.")
        )
    if signed_name.strip() != (applicant.real_name or "").strip():
        raise ValidationError(_("Sign with your real name as registered."))
    _provide(application, material, ApplicationMaterial.Provision.COMMITMENT)
    commitment, _created = Commitment.objects.update_or_create(
        application=application,
        material=material,
        defaults={
            "notice_text": commitment_notice(material),
            "commitment_text": material.commitment_text or material.name_zh,
            "signed_name": signed_name.strip(),
            "signed_at": timezone.now(),
        },
    )
    record_event(
        application=application,
        action="commitment_signed",
        actor=actor,
        data={"material": material.code},
    )
    return commitment


@transaction.atomic
def material_seen_at_window(
    *, application: Application, actor, material: Material
) -> ApplicationMaterial:
    """The clerk has seen the original at the window (现场核验): the material counts as provided.
    A scan uploaded for it before stays attached to it."""
    application = _lock(application)
    if actor.role != Role.CLERK:
        raise PermissionDenied
    _require_editor(application, actor)
    _require_editable(application)
    _needed_material(application, material)
    existing = application.materials.filter(material=material).first()
    return _provide(
        application,
        material,
        ApplicationMaterial.Provision.AT_WINDOW,
        file=existing.file if existing else None,
        reused=existing.reused if existing and existing.file_id else False,
    )


def commitment_notice(material: Material) -> str:
    """The one written notice: what is proved, by what, and the liability for a false commitment."""
    return _(
        "Instead of providing “%(material)s”, you may commit in writing that: %(statement)s "
        "The bureau will verify this after deciding (through shared data, an online check, a "
        "visit or a public notice). If the commitment is false, the decision will be revoked, "
        "benefits obtained must be repaid, the false commitment is recorded and you will no "
        "longer be able to use commitments; legal liability may follow."
    ) % {"material": material.name, "statement": material.commitment_text or material.name}


# -- submission --------------------------------------------------------------------------------


def missing_for_submission(application: Application) -> list[str]:
    """What still stops submission, in words for the applicant (empty when ready)."""
    problems = []
    if application.bundle_id and set(
        application.bundle.questions.values_list("code", flat=True)
    ) - set(application.answers or {}):
        problems.append(_("Answer the questions about your situation."))
    fields = required_form_fields(application)
    data = application.form_data or {}
    if any(f.required and not data.get(f.code) for f in fields):
        problems.append(_("Fill in the application form."))
    for entry in required_materials(application):
        if entry.needs_action:
            problems.append(_("Provide “%(material)s”.") % {"material": entry.material.name})
    return problems


@transaction.atomic
def application_submit(*, application: Application, actor) -> Application:
    """Submit once: fan out into item cases. Submitting an already submitted application again
    (a double click, a retried request) changes nothing and returns it."""
    application = _lock(application)
    _require_editor(application, actor)
    if application.state not in (ApplicationState.DRAFT, ApplicationState.RETURNED):
        return application
    problems = missing_for_submission(application)
    if problems:
        raise ValidationError(problems)
    for entry in required_materials(application):
        if entry.material.shared_data and entry.provided is None:
            _provide(application, entry.material, ApplicationMaterial.Provision.SHARED)
    resubmission = application.state == ApplicationState.RETURNED
    transition(application, "submit", actor=actor, action="resubmit" if resubmission else "submit")
    if resubmission:
        for case in application.cases.select_for_update().filter(state=CaseState.RETURNED):
            transition(case, "resubmit", actor=actor, action="resubmit")
    else:
        _open_cases(application, actor)
    _notify_applicant(
        application,
        _("Application %(reference)s received") % {"reference": application.reference},
        _("We have received your application for “%(subject)s”. Reference number: %(reference)s.")
        % {"subject": application.subject.name, "reference": application.reference},
    )
    return application


def _open_cases(application: Application, actor) -> None:
    """One item case per planned item; later stages wait for the earlier ones."""
    planned = planned_items(application)
    first_stage = min(p.stage for p in planned)
    cases = ItemCase.objects.bulk_create(
        ItemCase(
            application=application,
            item=p.item,
            unit_id=p.item.unit_id,
            stage=p.stage,
            state=CaseState.SUBMITTED if p.stage == first_stage else CaseState.WAITING,
        )
        for p in planned
    )
    CaseEvent.objects.bulk_create(
        CaseEvent(
            application=application,
            item_case=case,
            action="create",
            actor=actor,
            to_state=case.state,
            request_id=current_request_id.get(),
            data={"item": case.item.code, "stage": case.stage},
        )
        for case in cases
    )


@transaction.atomic
def application_withdraw(*, application: Application, actor, reason: str = "") -> Application:
    """The applicant withdraws before conclusion; every open item case is withdrawn with it."""
    application = _lock(application)
    _require_owner(application, actor)
    if application.state == ApplicationState.WITHDRAWN:
        return application
    if application.state not in (ApplicationState.DRAFT, *OPEN_APPLICATION_STATES):
        raise ValidationError(_("A concluded or refused application cannot be withdrawn."))
    was_draft = application.state == ApplicationState.DRAFT
    transition(application, "withdraw", actor=actor, action="withdraw", reason=reason)
    for case in application.cases.select_for_update().exclude(state__in=FINAL_CASE_STATES):
        transition(case, "withdraw", actor=actor, action="withdraw", reason=reason)
    if not was_draft:
        _notify_applicant(
            application,
            _("Application %(reference)s withdrawn") % {"reference": application.reference},
            _("Your application %(reference)s has been withdrawn.")
            % {"reference": application.reference},
        )
    return application


def _notify_applicant(application: Application, subject: str, body: str) -> None:
    notify(
        recipient=application.applicant,
        subject=subject,
        body=body,
        link=f"/applications/{application.reference}/",
    )
