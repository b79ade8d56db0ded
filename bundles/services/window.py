"""In-person intake at the window (现场办理): the clerk finds the person by ID number, opens the
application on their behalf, records the one form and each material as the person hands it
over (a scan, the original seen, or a signed commitment), then submits and accepts it in the
same sitting. Every clerk action is one service call in one transaction."""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import normalize_credit_code, normalize_phone, normalize_resident_id
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import Application, VisitKind
from kuaiban.cases.visits import made_an_earlier_trip, visit_count
from kuaiban.catalog.models import Bundle, Material, ServiceItem

from ..selectors import required_materials
from .applications import (
    application_save_form,
    application_start_once,
)
from .fitting import application_save_form_and_persons
from .guards import lock_application, require_window_clerk
from .intake import application_accept
from .materials import material_commit, material_seen_at_window, material_upload
from .submission import application_submit, missing_for_submission
from .window_enterprise import enterprise_errors, enterprise_for_intake, record_agent

# In-person intake files for a person (a citizen account) or, through its agent (经办人), for
# an enterprise or institution (an enterprise account): every bundle either applies for.
WINDOW_INTAKE_APPLICANTS = tuple(
    dict.fromkeys(
        (*Bundle.applicants_open_to(Role.CITIZEN), *Bundle.applicants_open_to(Role.ENTERPRISE))
    )
)


def _citizen_for_intake(*, number: str, real_name: str, phone: str) -> User:
    """The person the clerk identified by ID number (card in hand): their verified account when
    its real name matches, otherwise their window-only record (created on first use: no login,
    claimed when they register online and pass the real-name check). Never an unverified
    account: anyone can type someone else's number when registering. A legacy unverified account
    still holding the number's look-up hash gives it up (it keeps a pending hash, as any
    unverified registration)."""
    number_hash = keyed_hash(number)
    holder = User.objects.select_for_update().filter(resident_id_hash=number_hash).first()
    if holder is not None and (holder.role != Role.CITIZEN or not holder.is_active):
        raise ValidationError(
            {"resident_id": _("This ID number belongs to an account that cannot apply here.")}
        )
    if holder is not None and not holder.is_verified and not holder.window_only:
        holder.resident_id_hash = None
        holder.pending_id_hash = number_hash
        holder.save(update_fields=["resident_id_hash", "pending_id_hash"])
        holder = None
    if holder is None:
        record = User(
            username=_window_username(number_hash),
            role=Role.CITIZEN,
            real_name=real_name,
            display_name=real_name,
            phone=phone,
            window_only=True,
        )
        record.set_unusable_password()
        record.set_resident_id(number)
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            # Another window recorded the same person at the same moment: use that record.
            holder = User.objects.filter(resident_id_hash=number_hash).first()
            if holder is None:
                raise
        else:
            return record
    if (holder.real_name or "").strip() != real_name:
        raise ValidationError({"real_name": _("The name does not match the ID number.")})
    return holder


def _window_username(number_hash: str) -> str:
    for length in range(12, len(number_hash) + 1, 4):
        username = "w" + number_hash[:length]
        if not User.objects.filter(username=username).exists():
            return username
    return "w" + number_hash


@transaction.atomic
def window_intake_start(
    *,
    clerk,
    resident_id: str,
    real_name: str,
    phone: str,
    bundle: Bundle | None = None,
    item: ServiceItem | None = None,
    start_key: uuid.UUID | None = None,
    credit_code: str = "",
    organisation_name: str = "",
) -> Application:
    """A clerk opens an application at the window on a person's behalf (一窗受理, 现场办理).

    With a `credit_code` it is an enterprise's or institution's application: the person at the
    window is its agent (经办人; `resident_id`, `real_name` and `phone` are theirs), the
    application is the organisation's (`window_enterprise.enterprise_for_intake`).

    The person is identified by ID number: their verified account (the typed name must match
    it) or their window-only record, never an unverified registration. Messages about the
    application go to `phone`, the number the clerk confirmed with the person. The draft is
    WINDOW-channel, in the clerk's hall, and the visit is counted. Raises ValidationError keyed
    by field (`resident_id`, `real_name`, `phone`, `service`); the same `start_key` (a repeated
    POST) gives the same application without counting a second visit.
    """
    subject = bundle or item
    if subject is None or (bundle is not None and item is not None):
        raise ValueError("an application is for a bundle or for a single item")
    if clerk.role != Role.CLERK or not clerk.windows.filter(pk=subject.window_id).exists():
        raise PermissionDenied
    errors = {}
    if not subject.is_published:
        errors["service"] = [_("This service is not offered at the moment.")]
    elif bundle is not None and not bundle.open_to(
        Role.ENTERPRISE if credit_code else Role.CITIZEN
    ):
        errors["service"] = [
            _("This bundle is applied for by a person, not by an enterprise.")
            if credit_code
            else _("This bundle is applied for by an enterprise or institution.")
        ]
    if credit_code or organisation_name:
        errors.update(enterprise_errors(credit_code, organisation_name))
    try:
        number = normalize_resident_id(resident_id)
    except ValidationError as error:
        errors["resident_id"] = error.messages
    real_name = (real_name or "").strip()
    if not real_name:
        errors["real_name"] = [_("This field is required.")]
    try:
        phone = normalize_phone(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    if credit_code:
        applicant = enterprise_for_intake(
            credit_code=normalize_credit_code(credit_code),
            name=organisation_name.strip(),
            phone=phone,
        )
    else:
        applicant = _citizen_for_intake(number=number, real_name=real_name, phone=phone)
    # The same key for the same person (the page sent twice, or two clicks at once) gives the
    # same application and one visit; sent again for another person, a new application.
    application, created = application_start_once(
        applicant=applicant,
        bundle=bundle,
        item=item,
        start_key=start_key,
        actor=clerk,
        channel=Application.Channel.WINDOW,
        hall=clerk.hall,
    )
    if application.contact_phone != phone:  # the number the clerk confirmed, this sitting
        application.contact_phone = phone
        application.save(update_fields=["contact_phone"])
    if credit_code:
        record_agent(application, name=real_name, resident_id=number)
    return _sitting_counted(application, clerk) if created else application


def _sitting_counted(application: Application, clerk) -> Application:
    """The person is at the window: their first trip made the application, any later one (after
    a return, or to finish what one sitting could not) is a return visit."""
    application = lock_application(application)
    if not application.is_editable:  # submitted meanwhile: this sitting changes nothing
        return application
    returned = made_an_earlier_trip(application)
    kind = VisitKind.RETURN_VISIT if returned else VisitKind.WINDOW_SUBMISSION
    visit_count(application=application, kind=kind, actor=clerk)
    return application


@transaction.atomic
def window_intake_complete(
    *, application: Application, actor, conclude_instant: bool = False
) -> Application:
    """Submit an in-person application and accept it in the same sitting: all or nothing.
    Raises ValidationError with the complete list of what is still missing."""
    if application.channel != Application.Channel.WINDOW:
        raise PermissionDenied
    require_window_clerk(application, actor)
    application = application_submit(application=application, actor=actor)
    return application_accept(
        application=application, actor=actor, conclude_instant=conclude_instant
    )


@dataclass
class MaterialHandedOver:
    """What the clerk recorded for one material: a scan, the original seen, and/or a commitment
    the person signed (having read the notice and agreed)."""

    material: Material
    scan: UploadedFile | None = None
    seen: bool = False
    signed_name: str = ""
    agreed: bool = False


@dataclass
class WindowIntakeResult:
    """What became of one sitting: errors by form field and by material code, what still stops
    submission, and whether the application was submitted and accepted."""

    form_errors: dict[str, list[str]] = field(default_factory=dict)
    material_errors: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    completed: bool = False
    conflict: bool = False  # someone else handled the application meanwhile

    @property
    def ok(self) -> bool:
        return self.completed and not self.conflict


@transaction.atomic
def window_intake_record(
    *,
    application: Application,
    actor,
    form_data: dict[str, str] | None,
    delivery: str = "",
    address: str = "",
    materials: list[MaterialHandedOver],
    conclude_instant: bool = False,
    persons: list[dict[str, str]] | None = None,
) -> WindowIntakeResult:
    """Everything the clerk entered in one sitting, in one transaction: the one form and the
    result delivery (`form_data` None: the page's form was invalid, keep it for the clerk to
    correct), each material, and then, when everything is valid and complete, submission and
    acceptance (instant items concluded at once with `conclude_instant`). What is valid is kept
    even when something else is not (each part in its own savepoint), so nothing is lost.
    `persons`: the table of persons of an application for several (an enterprise's B01); its
    errors come under "persons"."""
    if application.channel != Application.Channel.WINDOW:
        raise PermissionDenied
    require_window_clerk(application, actor)
    _sitting_counted(application, actor)
    result = WindowIntakeResult()
    if form_data is not None:
        try:
            if persons is None:
                application_save_form(
                    application=application,
                    actor=actor,
                    data=form_data,
                    delivery=delivery,
                    address=address,
                )
            else:
                application_save_form_and_persons(
                    application=application,
                    actor=actor,
                    data=form_data,
                    rows=persons,
                    delivery=delivery,
                    address=address,
                )
        except ValidationError as error:
            result.form_errors = errors_by_field(error)
    for handed in materials:
        try:
            _record_material(application, actor, handed)
        except ValidationError as error:
            result.material_errors[handed.material.code] = error.messages
    if form_data is None or result.form_errors or result.material_errors:
        result.problems = missing_for_submission(application)
        return result
    try:
        with transaction.atomic():
            window_intake_complete(
                application=application, actor=actor, conclude_instant=conclude_instant
            )
    except ValidationError as error:
        result.problems = error.messages
    except (TransitionNotAllowed, ConcurrentTransition):
        result.conflict = True
    else:
        result.completed = True
    return result


def errors_by_field(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


def _record_material(application: Application, actor, handed: MaterialHandedOver) -> None:
    material = handed.material
    if handed.scan:
        material_upload(application=application, actor=actor, material=material, upload=handed.scan)
    if handed.seen:
        material_seen_at_window(application=application, actor=actor, material=material)
    elif handed.signed_name and material.commitment_allowed:
        material_commit(
            application=application,
            actor=actor,
            material=material,
            signed_name=handed.signed_name,
            agreed=handed.agreed,
        )


def materials_to_record(application: Application) -> list[Material]:
    """The materials a clerk records at the window (shared data is fetched by the bureau,
    unless its source has no record of it)."""
    return [entry.material for entry in required_materials(application) if entry.upload_offered]
