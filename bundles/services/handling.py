"""Back-office handling of item cases (后台并联办理). Reviewers act only on their unit's cases;
the unit head decides extensions. Stages open when the previous stage is approved, and the
application concludes, with all results together (统一出件), when every case is decided."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban.cases import clocks
from kuaiban.cases.events import record_event, transition
from kuaiban.cases.models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationState,
    CasePause,
    CaseState,
    DepartmentRequest,
    EventAction,
    ExtensionRequest,
    ItemCase,
    VisitKind,
)
from kuaiban.cases.visits import visit_count
from kuaiban.catalog.models import Unit
from kuaiban.commitments.services import checks_open_for_case
from kuaiban.departments import webhooks as department_webhooks
from kuaiban.documents.models import DocumentKind
from kuaiban.documents.services import delivery_open, document_issue
from kuaiban.ratings.links import rating_url
from kuaiban.workdays.calendar import calendar_from_db

from .guards import (
    lock_application,
    lock_case,
    notify_applicant,
    require_addressed_department,
    require_extension_decider,
    require_unit_reviewer,
)

DECIDED = (CaseState.APPROVED, CaseState.DENIED)


def _require_open(case: ItemCase) -> None:
    if case.state not in OPEN_CASE_STATES:
        raise ValidationError(_("This case is no longer open."))


@transaction.atomic
def case_start_review(*, case: ItemCase, actor) -> ItemCase:
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    case.reviewer = actor
    transition(case, "start_review", actor=actor, action=EventAction.START_REVIEW)
    application = lock_application(case.application)
    if application.state == ApplicationState.ACCEPTED:
        transition(application, "start_progress", actor=actor, action=EventAction.START_REVIEW)
    return case


@transaction.atomic
def case_approve(*, case: ItemCase, actor, at_window: bool = False) -> ItemCase:
    case = lock_case(case)
    if not at_window:
        require_unit_reviewer(case, actor)
    clocks.record_handling_time(case, decided_at=timezone.now())
    transition(case, "approve", actor=actor, action=EventAction.APPROVE)
    document_issue(
        application=case.application, item_case=case, kind=DocumentKind.APPROVAL, actor=actor
    )
    checks_open_for_case(case=case, actor=actor)
    if not at_window:
        case_conclude_ready(application=case.application, actor=actor)
    return case


@transaction.atomic
def case_deny(*, case: ItemCase, actor, reason: str, legal_basis: str) -> ItemCase:
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    if not reason.strip() or not legal_basis.strip():
        raise ValidationError(_("Give the reason and the legal basis of the denial."))
    case.decision_reason, case.legal_basis = reason.strip(), legal_basis.strip()
    clocks.record_handling_time(case, decided_at=timezone.now())
    transition(
        case,
        "deny",
        actor=actor,
        action=EventAction.DENY,
        reason=reason.strip(),
        data={"legal_basis": legal_basis.strip()},
    )
    document_issue(
        application=case.application,
        item_case=case,
        kind=DocumentKind.DENIAL,
        actor=actor,
        reason=case.decision_reason,
        legal_basis=case.legal_basis,
    )
    checks_open_for_case(case=case, actor=actor)
    case_conclude_ready(application=case.application, actor=actor)
    return case


@transaction.atomic
def case_pause(*, case: ItemCase, actor, kind: str, reason: str) -> CasePause:
    """Stop the clock for a legal exclusion (hearing, testing, appraisal, expert review …)."""
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    if kind not in CasePause.Kind.values or not reason.strip():
        raise ValidationError(_("Choose the kind of pause and give the reason."))
    now = timezone.now()
    case.paused_since = now
    transition(
        case,
        "pause",
        actor=actor,
        action=EventAction.PAUSE,
        reason=reason.strip(),
        data={"kind": kind},
    )
    return CasePause.objects.create(
        item_case=case, kind=kind, reason=reason.strip(), started_at=now, started_by=actor
    )


@transaction.atomic
def case_resume(*, case: ItemCase, actor) -> ItemCase:
    """Restart the clock; both due times move by the paused working time, with the reason."""
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    pause = case.pauses.select_for_update().filter(ended_at__isnull=True).first()
    if case.state != CaseState.PAUSED or pause is None:
        raise ValidationError(_("This case is not paused."))
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):  # stored text: the portal's language
        label = pause.get_kind_display()
    explanation = clocks.clock_shift_for_pause(
        case, started=pause.started_at, ended=now, label=label
    )
    pause.ended_at, pause.ended_by, pause.explanation = now, actor, explanation
    pause.save()
    case.paused_since = None
    transition(
        case,
        "resume",
        actor=actor,
        action=EventAction.RESUME,
        reason=explanation,
        data={
            "committed_due": case.committed_due_at and case.committed_due_at.isoformat(),
            "statutory_due": case.statutory_due_at and case.statutory_due_at.isoformat(),
        },
    )
    return case


@transaction.atomic
def case_statutory_mode(*, case: ItemCase, actor, reason: str) -> ItemCase:
    """On-site investigation or an especially complex case keeps the statutory limit."""
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    _require_open(case)
    if case.statutory_mode:
        raise ValidationError(_("This case already runs on the statutory limit."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for keeping the statutory limit."))
    if case.statutory_due_at is None:
        raise ValidationError(_("This item has no statutory limit to keep."))
    case.statutory_mode, case.statutory_mode_reason = True, reason.strip()
    case.statutory_mode_by = actor
    note = clocks.clock_to_statutory(case, reason=reason.strip())
    clocks.refresh_next_flag(case)
    case.save()
    record_event(
        application=case.application,
        item_case=case,
        action=EventAction.STATUTORY_MODE,
        actor=actor,
        reason=note,
        data={"committed_due": case.committed_due_at and case.committed_due_at.isoformat()},
    )
    return case


@transaction.atomic
def case_on_site_check(*, case: ItemCase, actor, note: str) -> ItemCase:
    """The applicant met the unit in person for an on-site check (现场核查) of an open case:
    what was checked is recorded, and the meeting counts a visit (`cases.visits`)."""
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    _require_open(case)
    if not note.strip():
        raise ValidationError(_("Say what was checked on site."))
    application = lock_application(case.application)
    visit_count(
        application=application,
        kind=VisitKind.ON_SITE_CHECK,
        actor=actor,
        note=note.strip(),
        item_case=case,
    )
    return case


@transaction.atomic
def extension_request(*, case: ItemCase, actor, reason: str) -> ExtensionRequest:
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    _require_open(case)
    if not case.item.extension_allowed:
        raise ValidationError(_("The law allows no extension for this item."))
    if case.extensions.exclude(status=ExtensionRequest.Status.REJECTED).exists():
        raise ValidationError(_("An extension has already been requested for this case."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the extension."))
    request = ExtensionRequest.objects.create(
        item_case=case, reason=reason.strip(), requested_by=actor
    )
    record_event(
        application=case.application,
        item_case=case,
        action=EventAction.EXTENSION_REQUESTED,
        actor=actor,
        reason=reason.strip(),
    )
    return request


@transaction.atomic
def extension_decide(
    *, request: ExtensionRequest, actor, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Another unit head or the city's supervision office approves (the statutory due time
    moves) or rejects; never the one who asked."""
    request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    case = lock_case(request.item_case)
    require_extension_decider(request, actor)
    _require_open(case)
    if request.status != ExtensionRequest.Status.REQUESTED:
        raise ValidationError(_("This request has already been decided."))
    request.status = (
        ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REJECTED
    )
    request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
    request.save()
    reason = note or request.reason
    if approve:
        reason = clocks.clock_extend(case, reason=request.reason)
        clocks.refresh_next_flag(case)
        case.save()
    record_event(
        application=case.application,
        item_case=case,
        action=EventAction.EXTENSION_DECIDED,
        actor=actor,
        reason=reason,
        data={"approved": approve},
    )
    return request


@transaction.atomic
def department_request_send(
    *, case: ItemCase, actor, department: Unit, question: str, reply_days: int = 3
) -> DepartmentRequest:
    """Ask another department; its reply has its own due time and the citizen's clock runs on."""
    case = lock_case(case)
    require_unit_reviewer(case, actor)
    if department.kind != Unit.Kind.EXTERNAL or not question.strip():
        raise ValidationError(_("Choose the department and write the request."))
    due = calendar_from_db().add_working_days(timezone.now(), reply_days).at
    request = DepartmentRequest.objects.create(
        item_case=case, department=department, question=question.strip(), sent_by=actor, due_at=due
    )
    transition(
        case,
        "await_department",
        actor=actor,
        action=EventAction.DEPARTMENT_REQUEST,
        reason=question.strip(),
        data={"department": department.code},
    )
    department_webhooks.request_sent(request)
    return request


@transaction.atomic
def department_reply_record(*, request: DepartmentRequest, actor, reply: str) -> DepartmentRequest:
    """Record the other department's reply (the requesting reviewer types it in). A case waiting
    for it goes back to review; a case that moved on meanwhile (paused for an appraisal and
    resumed, say) keeps its state, and the reply is recorded all the same."""
    request = DepartmentRequest.objects.select_for_update().get(pk=request.pk)
    case = lock_case(request.item_case)
    require_unit_reviewer(case, actor)
    return _reply_store(request, case, actor, reply)


@transaction.atomic
def department_request_answer(
    *, request: DepartmentRequest, actor, reply: str
) -> DepartmentRequest:
    """The addressed department answers the request itself (over the open API, as its service
    account): the same record and the same return to review as `department_reply_record`."""
    request = DepartmentRequest.objects.select_for_update().get(pk=request.pk)
    require_addressed_department(request, actor)
    return _reply_store(request, lock_case(request.item_case), actor, reply)


def _reply_store(
    request: DepartmentRequest, case: ItemCase, actor, reply: str
) -> DepartmentRequest:
    _require_open(case)
    if request.replied_at or not reply.strip():
        raise ValidationError(_("Record the reply once."))
    request.replied_at, request.reply = timezone.now(), reply.strip()
    request.save()
    facts = {
        "actor": actor,
        "action": EventAction.DEPARTMENT_REPLY,
        "reason": reply.strip(),
        "data": {"department": request.department.code},
    }
    if "department_replied" in case.available_transitions():
        transition(case, "department_replied", **facts)
    else:
        record_event(application=case.application, item_case=case, **facts)
    return request


def case_conclude_ready(*, application: Application, actor) -> None:
    """After a decision: open the next stage, close what a denial made moot, and when nothing is
    left open conclude every case and the application together (统一出件). Runs inside the
    caller's transaction."""
    cases = list(
        application.cases.select_for_update().select_related("item").order_by("stage", "id")
    )
    waiting = [c for c in cases if c.state == CaseState.WAITING]
    active = [c for c in cases if c.state not in (*DECIDED, CaseState.WAITING) and not c.is_final]
    if active:
        return
    now = timezone.now()
    if waiting:
        # A decision stopped for a false commitment counts as a denial for the later stages.
        denied = [c for c in cases if c.state in (CaseState.DENIED, CaseState.STOPPED)]
        if denied:
            for case in waiting:
                transition(
                    case,
                    "close",
                    actor=actor,
                    action=EventAction.CLOSE,
                    reason=_("An earlier stage was denied: %(items)s")
                    % {"items": "、".join(c.item.name_zh for c in denied)},
                )
        else:
            next_stage = min(c.stage for c in waiting)
            opened = [case for case in waiting if case.stage == next_stage]
            for case in opened:
                clocks.clock_start(case, received_at=now, accepted_at=now)
                transition(
                    case,
                    "open_stage",
                    actor=actor,
                    action=EventAction.OPEN_STAGE,
                    data={"stage": next_stage},
                )
            department_webhooks.cases_workable(opened)
            return
    for case in cases:
        if case.state in DECIDED:
            transition(case, "conclude", actor=actor, action=EventAction.CONCLUDE)
    application = lock_application(application)
    if application.state in (ApplicationState.ACCEPTED, ApplicationState.IN_PROGRESS):
        transition(
            application,
            "conclude",
            actor=actor,
            action=EventAction.CONCLUDE,
            data={"delivery": application.delivery},
        )
        delivery_open(application)
        department_webhooks.application_closed(application, "concluded")
        notify_applicant(
            application,
            _("Application %(reference)s concluded") % {"reference": application.reference},
            _(
                "All items of your application %(reference)s are done; the results are sent "
                "together: %(delivery)s. Please rate our service: %(link)s"
            )
            % {
                "reference": application.reference,
                "delivery": application.get_delivery_display(),
                "link": rating_url(application),
            },
        )
