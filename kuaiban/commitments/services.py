"""The steps of a commitment's post-hoc verification and of the sanctions for a false one.

When it opens: **at the decision** (approval or denial) of the first item case of the
application that needs the committed material (`checks_open_for_case`, called by the back
office's decision services in the decision's transaction). Until then a commitment can still be
replaced by the proof itself (a draft, a returned application), so a check opened earlier could
verify nothing; and the policy's due time ("20 working days after the decision") needs the
decision's moment. The `OneToOneField` on the commitment makes "exactly one" a database rule.

Who acts: the reviewers of the check's unit verify; the applicant answers the hearing notice;
the unit's head decides after the hearing and may lift a bar (or the city's supervision office).
Every step writes a `CheckEvent`; state changes go through the FSMs, and an item case is
stopped or revoked only through `cases.events.transition` with its `CaseEvent`.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role, User
from kuaiban.bulk_update import values_update
from kuaiban.cases import uploads
from kuaiban.cases.clocks import EventThreshold, earliest_unfired, moments_of
from kuaiban.cases.deadlines import working_days_plan
from kuaiban.cases.events import transition
from kuaiban.cases.models import CaseState, Commitment, EventAction, ItemCase
from kuaiban.catalog.models import ItemMaterial, Material
from kuaiban.documents.models import DocumentKind, ResultDocument
from kuaiban.documents.services import document_revoke
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify
from kuaiban.workdays.calendar import calendar_from_db

from .models import (
    DEFAULT_CHECK_DAYS,
    DEFAULT_HEARING_DAYS,
    CheckAction,
    CheckEvent,
    CheckMethod,
    CheckPolicy,
    CheckState,
    CommitmentBar,
    CommitmentCheck,
    HearingNotice,
    HearingOutcome,
    RepaymentOrder,
)

THRESHOLDS = (
    EventThreshold(CheckAction.WARN_50, "warn_50_at", "flag_50_at"),
    EventThreshold(CheckAction.WARN_75, "warn_75_at", "flag_75_at"),
    EventThreshold(CheckAction.OVERDUE, "due_at", "overdue_at"),
)


def refresh_next_flag(check: CommitmentCheck) -> None:
    """The sweep's key: the earliest threshold not yet fired while the check is open."""
    if check.state != CheckState.OPEN:
        check.next_flag_at = None
        return
    check.next_flag_at = earliest_unfired(THRESHOLDS, moments_of(check, THRESHOLDS))


def policy_of(material: Material) -> CheckPolicy:
    return CheckPolicy.objects.filter(material=material).first() or CheckPolicy(
        material=material,
        method=CheckMethod.SHARED_DATA,
        days=DEFAULT_CHECK_DAYS,
        hearing_days=DEFAULT_HEARING_DAYS,
    )


def _event(check: CommitmentCheck, action: str, actor=None, note: str = "", **data) -> CheckEvent:
    return CheckEvent.objects.create(
        check_row=check, action=action, actor=actor, note=note, data=data
    )


# -- opening ------------------------------------------------------------------------------------


def checks_open_for_case(*, case: ItemCase, actor) -> list[CommitmentCheck]:
    """The case was just decided: every commitment of its application for a material its item
    needs, not yet under verification, opens its check for the case's unit, due the policy's
    working days after the decision (inside the decision's transaction)."""
    decided_at = case.decided_at or timezone.now()
    needed = ItemMaterial.objects.filter(item_id=case.item_id).values("material_id")
    commitments = list(
        Commitment.objects.filter(
            application_id=case.application_id,
            material_id__in=needed,
            post_check__isnull=True,
        ).select_related("material")
    )
    if not commitments:
        return []
    cal = calendar_from_db()
    owner = (
        actor
        if getattr(actor, "role", None) == Role.REVIEWER and actor.unit_id == case.unit_id
        else case.reviewer
    )
    opened = []
    for commitment in commitments:
        policy = policy_of(commitment.material)
        plan = working_days_plan(cal, decided_at, policy.days)
        check = CommitmentCheck(
            commitment=commitment,
            application_id=case.application_id,
            item_case=case,
            unit_id=case.unit_id,
            material=commitment.material,
            method=policy.method,
            owner=owner,
            opened_at=decided_at,
            due_at=plan.due,
            due_provisional=plan.provisional,
            warn_50_at=plan.warn_50,
            warn_75_at=plan.warn_75,
        )
        refresh_next_flag(check)
        check.save()
        _event(check, CheckAction.OPEN, actor, days=policy.days, due=plan.due.isoformat())
        opened.append(check)
    return opened


# -- the unit's steps ----------------------------------------------------------------------------


def _is_unit_staff(actor, check: CommitmentCheck) -> bool:
    return getattr(actor, "role", None) == Role.REVIEWER and actor.unit_id == check.unit_id


def _is_unit_head(actor, check: CommitmentCheck) -> bool:
    return _is_unit_staff(actor, check) and actor.is_unit_head


def _locked_check(check: CommitmentCheck, actor) -> CommitmentCheck:
    if not _is_unit_staff(actor, check):
        raise PermissionDenied(_("Only the unit's own staff verify its commitments."))
    return CommitmentCheck.objects.select_for_update().get(pk=check.pk)


def _require_open(check: CommitmentCheck) -> None:
    if check.state != CheckState.OPEN:
        raise ValidationError(_("This verification is already concluded."))


@transaction.atomic
def check_record_method(
    *, check: CommitmentCheck, actor, method: str, method_note: str
) -> CommitmentCheck:
    """The reviewer takes the check and says how it is verified."""
    check = _locked_check(check, actor)
    _require_open(check)
    if method not in CheckMethod.values:
        raise ValidationError({"method": _("Choose a verification method.")})
    check.method, check.method_note, check.owner = method, method_note.strip(), actor
    check.save(update_fields=["method", "method_note", "owner"])
    _event(check, CheckAction.METHOD, actor, check.method_note, method=method)
    return check


@transaction.atomic
def check_attach_evidence(*, check: CommitmentCheck, actor, upload) -> CommitmentCheck:
    """A document showing what was found (a data extract, the visit's record, the notice), kept
    encrypted like the applicants' uploads. A later upload replaces it on the page; the event
    log names every file."""
    check = _locked_check(check, actor)
    _require_open(check)
    stored = uploads.store(owner=actor, material=check.material, upload=upload)
    check.evidence = stored
    check.save(update_fields=["evidence"])
    _event(check, CheckAction.EVIDENCE, actor, file=stored.pk, sha256=stored.sha256)
    return check


def _applicant_link(check: CommitmentCheck) -> str:
    return reverse("applications:status", kwargs={"reference": check.application.reference})


def _notify_applicant(check: CommitmentCheck, subject: str, body: str) -> None:
    application = check.application
    notify(
        recipient=application.applicant,
        phone=application.contact_phone,
        subject=subject,
        body=body,
        link=_applicant_link(check),
    )


@transaction.atomic
def check_conclude(
    *, check: CommitmentCheck, actor, finding: str, outcome_note: str, legal_basis: str = ""
) -> CommitmentCheck:
    """Record the outcome. Confirmed: done. Found false: the applicant is sent a hearing notice
    (陈述申辩) with the facts, the intended measures and their legal basis, and the time to
    answer; nothing is sanctioned before the unit head decides after it."""
    check = _locked_check(check, actor)
    _require_open(check)
    if not outcome_note.strip():
        raise ValidationError({"outcome_note": _("Say what the verification found.")})
    if finding not in (CheckState.CONFIRMED, CheckState.FOUND_FALSE):
        raise ValidationError({"finding": _("Choose the outcome of the verification.")})
    if finding == CheckState.FOUND_FALSE and not legal_basis.strip():
        raise ValidationError({"legal_basis": _("Give the legal basis of the intended measures.")})
    check.outcome_note = outcome_note.strip()
    check.concluded_by = actor
    commitment = Commitment.objects.select_for_update().get(pk=check.commitment_id)
    if finding == CheckState.CONFIRMED:
        check.confirm()
        commitment.verification = Commitment.Verification.CONFIRMED
        action = CheckAction.CONFIRM
    else:
        check.find_false()
        commitment.verification = Commitment.Verification.FALSE
        action = CheckAction.FIND_FALSE
    refresh_next_flag(check)
    check.save()
    commitment.save(update_fields=["verification"])
    _event(check, action, actor, check.outcome_note, on_time=check.on_time)
    if finding == CheckState.FOUND_FALSE:
        _hearing_send(check, actor, legal_basis.strip())
    return check


def _hearing_send(check: CommitmentCheck, actor, legal_basis: str) -> HearingNotice:
    policy = policy_of(check.material)
    now = timezone.now()
    plan = working_days_plan(calendar_from_db(), now, policy.hearing_days)
    hearing = HearingNotice.objects.create(
        check_row=check,
        facts=check.outcome_note,
        legal_basis=legal_basis,
        sent_at=now,
        sent_by=actor,
        respond_by=plan.due,
    )
    _event(check, CheckAction.HEARING_NOTICE, actor, legal_basis, respond_by=plan.due.isoformat())
    _notify_applicant(
        check,
        _("Application %(reference)s: notice before a decision")
        % {"reference": check.application.reference},
        _(
            "The commitment you signed for “%(material)s” was found untrue. The bureau intends "
            "to stop or revoke the decision, order repayment of benefits obtained and bar you "
            "from the commitment route (%(basis)s). You may state your case on the status page "
            "until %(due)s."
        )
        % {
            "material": check.material.name,
            "basis": legal_basis,
            "due": timezone.localtime(plan.due).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return hearing


# -- the applicant's answer ----------------------------------------------------------------------


@transaction.atomic
def hearing_answer(*, hearing: HearingNotice, actor, response: str) -> HearingNotice:
    """The applicant's statement (陈述申辩), once, before the time to answer is over."""
    hearing = (
        HearingNotice.objects.select_for_update().select_related("check_row").get(pk=hearing.pk)
    )
    check = hearing.check_row
    if actor.pk != check.application.applicant_id:
        raise PermissionDenied
    if not response.strip():
        raise ValidationError({"response": _("Write your statement.")})
    if not hearing.may_answer():
        raise ValidationError(_("The time to answer this notice is over."))
    hearing.response = response.strip()
    hearing.answer()
    hearing.save()
    _event(check, CheckAction.HEARING_RESPONSE, actor)
    notify_heads(
        check,
        _("Application %(reference)s: the applicant's statement")
        % {"reference": check.application.reference},
    )
    return hearing


def notify_heads(check: CommitmentCheck, subject: str) -> None:
    """An in-app message to the heads of the check's unit: a hearing is theirs to decide."""
    link = reverse("staff:commitment_check", kwargs={"check_id": check.pk})
    for head in User.objects.filter(
        role=Role.REVIEWER, unit_id=check.unit_id, is_unit_head=True, is_active=True
    ):
        notify(
            recipient=head,
            subject=subject,
            body=subject,
            link=link,
            channels=[Notification.Channel.IN_APP],
        )


# -- the unit head's decision --------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def _was_approved(case: ItemCase) -> bool:
    return not case.events.filter(action=EventAction.DENY).exists()


def cases_to_sanction(check: CommitmentCheck) -> list[ItemCase]:
    """The application's cases that rest on the false commitment: approved (not yet concluded:
    stopped) or concluded after an approval (revoked)."""
    needed = ItemMaterial.objects.filter(material_id=check.material_id).values("item_id")
    cases = ItemCase.objects.select_for_update().filter(
        application_id=check.application_id,
        item_id__in=needed,
        state__in=(CaseState.APPROVED, CaseState.CONCLUDED),
    )
    return [c for c in cases.order_by("stage", "id") if _was_approved(c)]


@transaction.atomic
def hearing_decide(
    *,
    hearing: HearingNotice,
    actor,
    outcome: str,
    reason: str,
    repayment_amount: Decimal | None = None,
    repayment_due: date | None = None,
    bar_months: int = 0,
) -> HearingNotice:
    """The unit head decides once the applicant answered or the time to answer is over.
    Sanctioned: every approved case resting on the commitment is stopped (not concluded yet) or
    revoked (concluded), each a transition with its event, reason and legal basis; a repayment
    order where a benefit was paid; the applicant barred from the commitment route for
    `bar_months` months (0: until lifted). Cleared: the finding is withdrawn."""
    hearing = (
        HearingNotice.objects.select_for_update().select_related("check_row").get(pk=hearing.pk)
    )
    check = CommitmentCheck.objects.select_for_update().get(pk=hearing.check_row_id)
    if not _is_unit_head(actor, check):
        raise PermissionDenied(_("Only the unit head decides after a hearing."))
    if not hearing.may_decide():
        raise ValidationError(
            _("Wait for the applicant's statement or for the end of the time to answer.")
        )
    if outcome not in HearingOutcome.values:
        raise ValidationError({"outcome": _("Choose the decision.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason of the decision.")})
    if (repayment_amount is None) != (repayment_due is None):
        raise ValidationError(_("A repayment order needs both the amount and the due date."))
    if repayment_amount is not None and repayment_amount <= 0:
        raise ValidationError({"repayment_amount": _("The amount must be positive.")})
    if not 0 <= bar_months <= 120:
        raise ValidationError({"bar_months": _("A bar lasts at most 120 months.")})
    reason = reason.strip()
    hearing.outcome, hearing.decision_reason, hearing.decided_by = outcome, reason, actor
    hearing.decide()
    hearing.save()
    _event(check, CheckAction.HEARING_DECISION, actor, reason, outcome=outcome)
    if outcome == HearingOutcome.CLEARED:
        check.clear()
        check.save()
        Commitment.objects.filter(pk=check.commitment_id).update(
            verification=Commitment.Verification.CONFIRMED
        )
        _event(check, CheckAction.CLEARED, actor, reason)
        _notify_applicant(
            check,
            _("Application %(reference)s: no sanction")
            % {"reference": check.application.reference},
            _("After hearing you, the bureau accepts your commitment for “%(material)s”.")
            % {"material": check.material.name},
        )
        return hearing
    facts = {"legal_basis": hearing.legal_basis, "commitment_check": check.pk}
    for case in cases_to_sanction(check):
        if case.state == CaseState.CONCLUDED:
            transition(
                case, "revoke", actor=actor, action=EventAction.REVOKE, reason=reason, data=facts
            )
        else:
            transition(
                case, "stop", actor=actor, action=EventAction.STOP, reason=reason, data=facts
            )
        # Stopped or revoked, the approval's notice is revoked by a notice of its own.
        approval = ResultDocument.objects.filter(
            item_case=case, kind=DocumentKind.APPROVAL, revoked_by__isnull=True
        ).first()
        if approval is not None:
            document_revoke(
                document=approval, actor=actor, reason=reason, legal_basis=hearing.legal_basis
            )
    if repayment_amount is not None and repayment_due is not None:
        order = RepaymentOrder.objects.create(
            check_row=check, amount=repayment_amount, due_date=repayment_due, ordered_by=actor
        )
        _event(
            check,
            CheckAction.REPAYMENT_ORDERED,
            actor,
            order=order.pk,
            amount=str(repayment_amount),
            due=repayment_due.isoformat(),
        )
    today = timezone.localdate()
    bar = CommitmentBar.objects.create(
        person_id=check.application.applicant_id,
        check_row=check,
        reason=reason,
        until=add_months(today, bar_months) if bar_months else None,
        imposed_by=actor,
    )
    _event(
        check,
        CheckAction.BARRED,
        actor,
        reason,
        bar=bar.pk,
        until=bar.until.isoformat() if bar.until else None,
    )
    _notify_applicant(
        check,
        _("Application %(reference)s: decision after the hearing")
        % {"reference": check.application.reference},
        _(
            "Your commitment for “%(material)s” was untrue: %(reason)s. The decision resting on it "
            "is stopped or revoked, and you must provide proofs instead of commitments."
        )
        % {"material": check.material.name, "reason": reason},
    )
    return hearing


@transaction.atomic
def repayment_record_paid(*, order: RepaymentOrder, actor) -> RepaymentOrder:
    order = RepaymentOrder.objects.select_for_update().select_related("check_row").get(pk=order.pk)
    if not _is_unit_staff(actor, order.check_row):
        raise PermissionDenied
    if order.paid_at is not None:
        raise ValidationError(_("This repayment is already recorded as paid."))
    order.paid_at, order.paid_recorded_by = timezone.now(), actor
    order.save(update_fields=["paid_at", "paid_recorded_by"])
    _event(order.check_row, CheckAction.REPAYMENT_PAID, actor, order=order.pk)
    return order


def may_lift(actor, bar: CommitmentBar) -> bool:
    """The head of the unit that imposed it."""
    return _is_unit_head(actor, bar.check_row)


@transaction.atomic
def bar_lift(*, bar: CommitmentBar, actor, reason: str) -> CommitmentBar:
    """A bar ends early only by this recorded decision (who, when, why)."""
    bar = CommitmentBar.objects.select_for_update().select_related("check_row").get(pk=bar.pk)
    if not may_lift(actor, bar):
        raise PermissionDenied
    if bar.lifted_at is not None:
        raise ValidationError(_("This bar has already been lifted."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for lifting the bar.")})
    bar.lifted_at, bar.lifted_by, bar.lift_reason = timezone.now(), actor, reason.strip()
    bar.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    _event(bar.check_row, CheckAction.BAR_LIFTED, actor, bar.lift_reason, bar=bar.pk)
    return bar


# -- the calendar --------------------------------------------------------------------------------

CLOCK_FIELDS = ("due_at", "warn_50_at", "warn_75_at", "due_provisional")


def check_clocks_recompute(*, days: Iterable[date] = ()) -> int:
    """After a calendar change: the open checks whose clock spans an edited day (every open one
    without `days`, the provisional ones among them: a year loaded) get their due times again
    from their opening, with the material's policy as it is now. Flags already fired stay
    fired. Returns how many clocks moved."""
    checks = CommitmentCheck.objects.filter(state=CheckState.OPEN)
    days = sorted(days)
    if days:
        tz = timezone.get_current_timezone()
        start = datetime.combine(days[0], time.min, tzinfo=tz)
        end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=tz)
        checks = checks.filter(opened_at__lt=end, due_at__gte=start)
    policies = {p.material_id: p for p in CheckPolicy.objects.all()}
    moved = []
    with transaction.atomic():
        cal = calendar_from_db()
        for check in checks.select_for_update().select_related("material").order_by("pk"):
            before = tuple(getattr(check, name) for name in CLOCK_FIELDS)
            policy = policies.get(check.material_id) or policy_of(check.material)
            plan = working_days_plan(cal, check.opened_at, policy.days)
            check.due_at, check.warn_50_at, check.warn_75_at = plan.due, plan.warn_50, plan.warn_75
            check.due_provisional = plan.provisional
            refresh_next_flag(check)
            if tuple(getattr(check, name) for name in CLOCK_FIELDS) != before:
                moved.append(check)
        values_update(CommitmentCheck, moved, [*CLOCK_FIELDS, "next_flag_at"])
    return len(moved)
