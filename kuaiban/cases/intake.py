"""One-window intake (一窗受理): accept a whole application, return it once with the complete
list of what is missing (一次性告知), or refuse it. Clerks act only in their windows."""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.identity import normalize_phone, normalize_resident_id
from kuaiban.accounts.models import Role, User
from kuaiban.catalog.models import Bundle, ServiceItem

from . import clocks
from .models import (
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseState,
    ReturnNotice,
)
from .review import case_approve, case_conclude_ready
from .services import (
    _notify_applicant,
    application_start,
    application_submit,
    record_event,
    transition,
)


def application_window_id(application: Application) -> int:
    subject = application.bundle or application.item
    return subject.window_id


def _require_clerk(application: Application, actor) -> None:
    if (
        actor.role != Role.CLERK
        or not actor.windows.filter(pk=application_window_id(application)).exists()
    ):
        raise PermissionDenied


def _lock(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


@transaction.atomic
def application_accept(
    *, application: Application, actor, hall=None, conclude_instant: bool = False
) -> Application:
    """Accept every item case of the first stage and start its clock. With `conclude_instant`,
    instant items are approved and concluded at the window in the same sitting."""
    application = _lock(application)
    _require_clerk(application, actor)
    application.hall = hall or actor.hall
    # TransitionNotAllowed unless still submitted: of two clerks clicking, the second loses.
    transition(
        application,
        "accept",
        actor=actor,
        action="accept",
        data={"hall": application.hall and application.hall.code},
    )
    now = timezone.now()
    received = (
        now
        if application.channel == Application.Channel.WINDOW
        else (application.submitted_at or now)
    )
    opened = []
    for case in (
        application.cases.select_for_update()
        .select_related("item")
        .filter(state=CaseState.SUBMITTED)
    ):
        clocks.clock_start(case, received_at=received, accepted_at=now)
        transition(
            case,
            "accept",
            actor=actor,
            action="accept",
            data={"committed_due": case.committed_due_at and case.committed_due_at.isoformat()},
        )
        opened.append(case)
    if conclude_instant:
        for case in opened:
            if case.item.is_instant:
                case_approve(case=case, actor=actor, at_window=True)
        case_conclude_ready(application=application, actor=actor)
    _notify_applicant(
        application,
        _("Application %(reference)s accepted") % {"reference": application.reference},
        _("Your application %(reference)s has been accepted and is being handled.")
        % {"reference": application.reference},
    )
    return application


@transaction.atomic
def application_return(
    *, application: Application, actor, material_ids: list[int], note: str
) -> ReturnNotice:
    """Return the application once with the complete list of what is missing or defective.

    A later return of the same application may only name materials the applicant changed since
    the previous return: never a second list for what could have been said the first time.
    """
    application = _lock(application)
    _require_clerk(application, actor)
    if not material_ids and not note.strip():
        raise ValidationError(_("List what is missing or defective."))
    previous = application.return_notices.order_by("-created_at").first()
    if previous is not None:
        changed = set(
            ApplicationMaterial.objects.filter(
                application=application, provided_at__gt=previous.created_at
            ).values_list("material_id", flat=True)
        )
        unchanged = set(material_ids) - changed
        if unchanged or (not material_ids and note.strip()):
            raise ValidationError(
                _(
                    "The application was already returned once with the complete list; only "
                    "materials the applicant changed since then can be returned again."
                )
            )
    transition(
        application,
        "return_for_materials",
        actor=actor,
        action="return",
        reason=note.strip(),
        data={"materials": sorted(material_ids)},
    )
    notice = ReturnNotice.objects.create(
        application=application, created_by=actor, note=note.strip()
    )
    notice.materials.set(material_ids)
    for case in application.cases.select_for_update().filter(state=CaseState.SUBMITTED):
        transition(case, "return_for_materials", actor=actor, action="return")
    _notify_applicant(
        application,
        _("Application %(reference)s: materials needed") % {"reference": application.reference},
        _(
            "Please complete your application %(reference)s; everything needed is listed "
            "on its page."
        )
        % {"reference": application.reference},
    )
    return notice


@transaction.atomic
def application_refuse(
    *, application: Application, actor, reason: str, legal_basis: str
) -> Application:
    application = _lock(application)
    _require_clerk(application, actor)
    if not reason.strip() or not legal_basis.strip():
        raise ValidationError(_("Give the reason and the legal basis of the refusal."))
    transition(
        application,
        "refuse",
        actor=actor,
        action="refuse",
        reason=reason.strip(),
        data={"legal_basis": legal_basis},
    )
    for case in application.cases.select_for_update().filter(
        state__in=[CaseState.SUBMITTED, CaseState.WAITING]
    ):
        transition(case, "refuse", actor=actor, action="refuse", reason=reason.strip())
    _notify_applicant(
        application,
        _("Application %(reference)s not accepted") % {"reference": application.reference},
        _("Your application %(reference)s was not accepted: %(reason)s (%(basis)s)")
        % {"reference": application.reference, "reason": reason, "basis": legal_basis},
    )
    return application


@transaction.atomic
def visit_record(*, application: Application, actor, purpose: str) -> Application:
    """Count an in-person contact (跑动次数); the goal is at most one per application."""
    application = _lock(application)
    if actor.role == Role.CLERK:
        _require_clerk(application, actor)
    elif not (
        actor.role == Role.REVIEWER and application.cases.filter(unit_id=actor.unit_id).exists()
    ):
        raise PermissionDenied
    application.visits += 1
    application.save(update_fields=["visits"])
    record_event(
        application=application,
        action="visit",
        actor=actor,
        reason=purpose,
        data={"visits": application.visits},
    )
    return application


def is_open_for_intake(application: Application) -> bool:
    return application.state == ApplicationState.SUBMITTED


# -- in-person intake (现场办理) ---------------------------------------------------------------

# Bundles an individual applies for; the others are applied for by an enterprise or institution.
WINDOW_INTAKE_APPLICANTS = (
    Bundle.Applicant.CITIZEN,
    Bundle.Applicant.FAMILY,
    Bundle.Applicant.CITIZEN_OR_ENTERPRISE,
)


def _citizen_for_intake(*, number: str, real_name: str, phone: str) -> User:
    """The citizen holding this ID number, or a new account for them (they set a password
    later to log in). The typed name must match an existing account's."""
    number_hash = keyed_hash(number)
    citizen = User.objects.filter(resident_id_hash=number_hash).first()
    if citizen is None:
        citizen = User(
            username="c" + number_hash[:12],
            role=Role.CITIZEN,
            real_name=real_name,
            display_name=real_name,
            phone=phone,
        )
        citizen.set_unusable_password()
        citizen.set_resident_id(number)
        try:
            with transaction.atomic():
                citizen.save()
        except IntegrityError:
            # Another window registered the same person at the same moment: use that account.
            citizen = User.objects.filter(resident_id_hash=number_hash).first()
            if citizen is None:
                raise
        else:
            return citizen
    if citizen.role != Role.CITIZEN or not citizen.is_active:
        raise ValidationError(
            {"resident_id": _("This ID number belongs to an account that cannot apply here.")}
        )
    if (citizen.real_name or "").strip() != real_name:
        raise ValidationError({"real_name": _("The name does not match the ID number.")})
    if not citizen.phone:
        citizen.phone = phone
        citizen.save(update_fields=["phone"])
    return citizen


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
) -> Application:
    """A clerk opens an application at the window on a person's behalf (一窗受理, 现场办理).

    The person is identified by ID number: an existing citizen account is used (the typed name
    must match it), otherwise one is created. The draft is WINDOW-channel, in the clerk's hall,
    and the visit is counted. Raises ValidationError keyed by field (`resident_id`,
    `real_name`, `phone`, `service`); the same `start_key` (a repeated POST) gives the same
    application without counting a second visit.
    """
    if (bundle is None) == (item is None):
        raise ValueError("an application is for a bundle or for a single item")
    subject = bundle or item
    if clerk.role != Role.CLERK or not clerk.windows.filter(pk=subject.window_id).exists():
        raise PermissionDenied
    errors = {}
    if not subject.is_published:
        errors["service"] = [_("This service is not offered at the moment.")]
    elif bundle is not None and bundle.applicant not in WINDOW_INTAKE_APPLICANTS:
        errors["service"] = [_("This bundle is applied for by an enterprise or institution.")]
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
    citizen = _citizen_for_intake(number=number, real_name=real_name, phone=phone)
    if start_key is not None:
        existing = Application.objects.filter(submission_key=start_key).first()
        if existing is not None and existing.applicant_id == citizen.pk:
            return existing
        if existing is not None:
            start_key = None  # the page was sent again for another person: a new application
    application = application_start(
        applicant=citizen,
        bundle=bundle,
        item=item,
        start_key=start_key,
        actor=clerk,
        channel=Application.Channel.WINDOW,
        hall=clerk.hall,
    )
    return visit_record(
        application=application, actor=clerk, purpose=_("In-person application at the window")
    )


@transaction.atomic
def window_intake_complete(
    *, application: Application, actor, conclude_instant: bool = False
) -> Application:
    """Submit an in-person application and accept it in the same sitting: all or nothing.
    Raises ValidationError with the complete list of what is still missing."""
    if application.channel != Application.Channel.WINDOW:
        raise PermissionDenied
    _require_clerk(application, actor)
    application = application_submit(application=application, actor=actor)
    return application_accept(
        application=application, actor=actor, conclude_instant=conclude_instant
    )
