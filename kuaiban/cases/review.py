"""Back-office handling of item cases (后台并联办理). Reviewers act only on their unit's cases;
the unit head decides extensions. Stages open when the previous stage is approved, and the
application concludes, with all results together (统一出件), when every case is decided."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.catalog.models import Unit
from kuaiban.workdays.selectors import calendar_from_db

from . import clocks
from .models import (
    OPEN_CASE_STATES,
    Application,
    ApplicationState,
    CasePause,
    CaseState,
    DepartmentRequest,
    ExtensionRequest,
    ItemCase,
)
from .services import _notify_applicant, record_event, transition

DECIDED = (CaseState.APPROVED, CaseState.DENIED)


def _require_reviewer(case: ItemCase, actor) -> None:
    if actor.role != Role.REVIEWER or actor.unit_id != case.unit_id:
        raise PermissionDenied


def _require_open(case: ItemCase) -> None:
    if case.state not in OPEN_CASE_STATES:
        raise ValidationError(_("This case is no longer open."))


def _lock(case: ItemCase) -> ItemCase:
    return (
        ItemCase.objects.select_for_update().select_related("item", "application").get(pk=case.pk)
    )


@transaction.atomic
def case_start_review(*, case: ItemCase, actor) -> ItemCase:
    case = _lock(case)
    _require_reviewer(case, actor)
    case.reviewer = actor
    transition(case, "start_review", actor=actor, action="start_review")
    application = Application.objects.select_for_update().get(pk=case.application_id)
    if application.state == ApplicationState.ACCEPTED:
        transition(application, "start_progress", actor=actor, action="start_review")
    return case


@transaction.atomic
def case_approve(*, case: ItemCase, actor, at_window: bool = False) -> ItemCase:
    case = _lock(case)
    if not at_window:
        _require_reviewer(case, actor)
    clocks.record_handling_time(case, decided_at=timezone.now())
    transition(case, "approve", actor=actor, action="approve")
    if not at_window:
        case_conclude_ready(application=case.application, actor=actor)
    return case


@transaction.atomic
def case_deny(*, case: ItemCase, actor, reason: str, legal_basis: str) -> ItemCase:
    case = _lock(case)
    _require_reviewer(case, actor)
    if not reason.strip() or not legal_basis.strip():
        raise ValidationError(_("Give the reason and the legal basis of the denial."))
    case.decision_reason, case.legal_basis = reason.strip(), legal_basis.strip()
    clocks.record_handling_time(case, decided_at=timezone.now())
    transition(
        case,
        "deny",
        actor=actor,
        action="deny",
        reason=reason.strip(),
        data={"legal_basis": legal_basis.strip()},
    )
    case_conclude_ready(application=case.application, actor=actor)
    return case


@transaction.atomic
def case_pause(*, case: ItemCase, actor, kind: str, reason: str) -> CasePause:
    """Stop the clock for a legal exclusion (hearing, testing, appraisal, expert review …)."""
    case = _lock(case)
    _require_reviewer(case, actor)
    if kind not in CasePause.Kind.values or not reason.strip():
        raise ValidationError(_("Choose the kind of pause and give the reason."))
    now = timezone.now()
    case.paused_since = now
    transition(
        case, "pause", actor=actor, action="pause", reason=reason.strip(), data={"kind": kind}
    )
    return CasePause.objects.create(
        item_case=case, kind=kind, reason=reason.strip(), started_at=now, started_by=actor
    )


@transaction.atomic
def case_resume(*, case: ItemCase, actor) -> ItemCase:
    """Restart the clock; both due times move by the paused working time, with the reason."""
    case = _lock(case)
    _require_reviewer(case, actor)
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
        action="resume",
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
    case = _lock(case)
    _require_reviewer(case, actor)
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
        action="statutory_mode",
        actor=actor,
        reason=note,
        data={"committed_due": case.committed_due_at.isoformat()},
    )
    return case


@transaction.atomic
def extension_request(*, case: ItemCase, actor, reason: str) -> ExtensionRequest:
    case = _lock(case)
    _require_reviewer(case, actor)
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
        action="extension_requested",
        actor=actor,
        reason=reason.strip(),
    )
    return request


@transaction.atomic
def extension_decide(
    *, request: ExtensionRequest, actor, approve: bool, note: str = ""
) -> ExtensionRequest:
    """The unit head approves (the statutory due time moves) or rejects."""
    request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    case = _lock(request.item_case)
    if not (actor.role == Role.REVIEWER and actor.is_unit_head and actor.unit_id == case.unit_id):
        raise PermissionDenied
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
        reason = clocks.clock_extend(
            case,
            amount=case.item.extension_limit,
            unit=case.item.extension_unit,
            reason=request.reason,
        )
        clocks.refresh_next_flag(case)
        case.save()
    record_event(
        application=case.application,
        item_case=case,
        action="extension_decided",
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
    case = _lock(case)
    _require_reviewer(case, actor)
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
        action="department_request",
        reason=question.strip(),
        data={"department": department.code},
    )
    return request


@transaction.atomic
def department_reply_record(*, request: DepartmentRequest, actor, reply: str) -> DepartmentRequest:
    request = DepartmentRequest.objects.select_for_update().get(pk=request.pk)
    case = _lock(request.item_case)
    _require_reviewer(case, actor)
    if request.replied_at or not reply.strip():
        raise ValidationError(_("Record the reply once."))
    request.replied_at, request.reply = timezone.now(), reply.strip()
    request.save()
    transition(
        case,
        "department_replied",
        actor=actor,
        action="department_reply",
        reason=reply.strip(),
        data={"department": request.department.code},
    )
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
        denied = [c for c in cases if c.state == CaseState.DENIED]
        if denied:
            for case in waiting:
                transition(
                    case,
                    "close",
                    actor=actor,
                    action="close",
                    reason=_("An earlier stage was denied: %(items)s")
                    % {"items": "、".join(c.item.name_zh for c in denied)},
                )
        else:
            next_stage = min(c.stage for c in waiting)
            for case in waiting:
                if case.stage == next_stage:
                    clocks.clock_start(case, received_at=now, accepted_at=now)
                    transition(
                        case,
                        "open_stage",
                        actor=actor,
                        action="open_stage",
                        data={"stage": next_stage},
                    )
            return
    for case in cases:
        if case.state in DECIDED:
            transition(case, "conclude", actor=actor, action="conclude")
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.state in (ApplicationState.ACCEPTED, ApplicationState.IN_PROGRESS):
        transition(
            application,
            "conclude",
            actor=actor,
            action="conclude",
            data={"delivery": application.delivery},
        )
        _notify_applicant(
            application,
            _("Application %(reference)s concluded") % {"reference": application.reference},
            _(
                "All items of your application %(reference)s are done; the results are sent "
                "together: %(delivery)s."
            )
            % {"reference": application.reference, "delivery": application.get_delivery_display()},
        )


def open_clocks_recompute(*, provisional_only: bool = False, batch: int = 500) -> int:
    """After a calendar change: recompute every open clock, provisional ones first; each moved
    due time is explained on the case and in the event log. Returns how many moved."""
    open_cases = ItemCase.objects.filter(
        state__in=[
            CaseState.ACCEPTED,
            CaseState.IN_REVIEW,
            CaseState.PAUSED,
            CaseState.AWAITING_DEPARTMENT,
        ],
        accepted_at__isnull=False,
    )
    if provisional_only:
        open_cases = open_cases.filter(due_provisional=True)
    ids = list(
        open_cases.order_by("-due_provisional", "committed_due_at").values_list("pk", flat=True)
    )
    moved = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            for case in (
                ItemCase.objects.select_for_update()
                .select_related("item", "application")
                .filter(pk__in=ids[start : start + batch])
            ):
                note = clocks.clock_recompute(case)
                if note is None:
                    case.save(update_fields=["due_provisional"])
                    continue
                clocks.refresh_next_flag(case)
                case.save()
                record_event(
                    application=case.application, item_case=case, action="recompute", reason=note
                )
                moved += 1
    return moved
