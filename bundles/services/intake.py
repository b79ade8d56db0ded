"""One-window intake (一窗受理): accept a whole application, return it once with the complete
list of what is missing (一次性告知), or refuse it. Clerks act only in their windows."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.cases import clocks
from kuaiban.cases.events import transition
from kuaiban.cases.models import (
    Application,
    ApplicationMaterial,
    ApplicationState,
    CaseState,
    EventAction,
    ReturnNotice,
    VisitKind,
)
from kuaiban.cases.visits import visit_count
from kuaiban.departments import webhooks as department_webhooks
from kuaiban.documents.models import DocumentKind
from kuaiban.documents.services import document_issue

from .guards import lock_application, notify_applicant, require_window_clerk
from .handling import case_approve, case_conclude_ready


@transaction.atomic
def application_accept(
    *, application: Application, actor, hall=None, conclude_instant: bool = False
) -> Application:
    """Accept every item case of the first stage and start its clock. With `conclude_instant`,
    instant items are approved and concluded at the window in the same sitting."""
    application = lock_application(application)
    require_window_clerk(application, actor)
    application.hall = hall or actor.hall
    # TransitionNotAllowed unless still submitted: of two clerks clicking, the second loses.
    transition(
        application,
        "accept",
        actor=actor,
        action=EventAction.ACCEPT,
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
            action=EventAction.ACCEPT,
            data={"committed_due": case.committed_due_at and case.committed_due_at.isoformat()},
        )
        opened.append(case)
    department_webhooks.cases_workable(opened)
    if conclude_instant:
        for case in opened:
            if case.item.is_instant:
                case_approve(case=case, actor=actor, at_window=True)
        case_conclude_ready(application=application, actor=actor)
    notify_applicant(
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
    application = lock_application(application)
    require_window_clerk(application, actor)
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
        action=EventAction.RETURN,
        reason=note.strip(),
        data={"materials": sorted(material_ids)},
    )
    notice = ReturnNotice.objects.create(
        application=application, created_by=actor, note=note.strip()
    )
    notice.materials.set(material_ids)
    for case in application.cases.select_for_update().filter(state=CaseState.SUBMITTED):
        transition(case, "return_for_materials", actor=actor, action=EventAction.RETURN)
    notify_applicant(
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
    application = lock_application(application)
    require_window_clerk(application, actor)
    if not reason.strip() or not legal_basis.strip():
        raise ValidationError(_("Give the reason and the legal basis of the refusal."))
    transition(
        application,
        "refuse",
        actor=actor,
        action=EventAction.REFUSE,
        reason=reason.strip(),
        data={"legal_basis": legal_basis},
    )
    for case in application.cases.select_for_update().filter(
        state__in=[CaseState.SUBMITTED, CaseState.WAITING]
    ):
        transition(case, "refuse", actor=actor, action=EventAction.REFUSE, reason=reason.strip())
    document_issue(
        application=application,
        kind=DocumentKind.REFUSAL,
        actor=actor,
        reason=reason.strip(),
        legal_basis=legal_basis.strip(),
    )
    notify_applicant(
        application,
        _("Application %(reference)s not accepted") % {"reference": application.reference},
        _("Your application %(reference)s was not accepted: %(reason)s (%(basis)s)")
        % {"reference": application.reference, "reason": reason, "basis": legal_basis},
    )
    return application


@transaction.atomic
def visit_record(*, application: Application, actor, purpose: str) -> Application:
    """The applicant came back in person for something no other step records (brought an
    original to be seen, say): a return visit, counted by the rule of `cases.visits`."""
    application = lock_application(application)
    if actor.role == Role.CLERK:
        require_window_clerk(application, actor)
    elif not (
        actor.role == Role.REVIEWER and application.cases.filter(unit_id=actor.unit_id).exists()
    ):
        raise PermissionDenied
    visit_count(application=application, kind=VisitKind.RETURN_VISIT, actor=actor, note=purpose)
    return application


def is_open_for_intake(application: Application) -> bool:
    return application.state == ApplicationState.SUBMITTED
