"""Follow-ups (domain.md §4): every bad review, and every case that missed its committed time
("快办要求未落实"), is verified, rectified or explained, and answered — "次次有核实、件件有反馈".

The unit of the case answers (for a review of a whole bundle, the bundle's lead unit; for a
single-item application, the item's unit); the clock counts working days from the opening
(`cases.deadlines.followup_plan`, limits from `FollowUpPolicy`), and the sweep
(`followups_sweep`) fires its flags once each: 50% and 75% of the answer time, overdue, and
escalation to the supervision office.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.bulk_update import values_update
from kuaiban.cases.clocks import EventThreshold, earliest_unfired, moments_of
from kuaiban.cases.deadlines import FollowUpPlan, followup_plan, pause_shift, shift_due
from kuaiban.cases.models import Application, ItemCase
from kuaiban.catalog.models import Bundle
from kuaiban.notifications.services import notify
from kuaiban.workdays.arithmetic import WorkCalendar
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit

from .models import (
    Finding,
    FollowUp,
    FollowUpEvent,
    FollowUpKind,
    FollowUpPolicy,
    FollowUpState,
    Grade,
    Rating,
)
from .models import (
    FollowUpAction as Action,
)

# In the order they come due: 50% and 75% of the answer time, answer overdue, escalation.
THRESHOLDS = (
    EventThreshold(Action.WARN_50, "warn_50_at", "flag_50_at"),
    EventThreshold(Action.WARN_75, "warn_75_at", "flag_75_at"),
    EventThreshold(Action.OVERDUE, "answer_due_at", "overdue_at"),
    EventThreshold(Action.ESCALATED, "escalate_at", "escalated_at"),
)
# While an appeal waits, only the decision's due time is watched.
APPEAL_THRESHOLD = EventThreshold(Action.APPEAL_OVERDUE, "appeal_due_at", "appeal_overdue_at")
# The moments that move when an appeal is rejected (by the working time it took).
DUE_FIELDS = ("verify_due_at", "answer_due_at", "escalate_at", "warn_50_at", "warn_75_at")


def thresholds_in(state: str) -> tuple[EventThreshold, ...]:
    """The thresholds watched in a state: the answer clock's while open or verified, only the
    decision's due time while an appeal waits, none once answered or closed."""
    if state == FollowUpState.APPEALED:
        return (APPEAL_THRESHOLD,)
    if state in (FollowUpState.OPEN, FollowUpState.VERIFIED):
        return THRESHOLDS
    return ()


def thresholds_of(follow_up: FollowUp) -> tuple[EventThreshold, ...]:
    return thresholds_in(follow_up.state)


def next_flag(state: str, moments: Mapping[str, datetime | None]) -> datetime | None:
    """The earliest threshold watched in `state` whose flag has not fired; `moments` holds the
    follow-up's threshold and fired fields by name (a missing one is empty)."""
    return earliest_unfired(thresholds_in(state), moments)


def refresh_next_flag(follow_up: FollowUp) -> None:
    """`next_flag_at` (the sweep's index key): the earliest threshold not yet fired, for the
    follow-up's state; None once answered or closed."""
    follow_up.next_flag_at = next_flag(
        follow_up.state, moments_of(follow_up, thresholds_of(follow_up))
    )


def followup_policy(kind: str) -> FollowUpPolicy:
    """The kind's policy (its defaults when the table has no row)."""
    return FollowUpPolicy.objects.filter(kind=kind).first() or FollowUpPolicy(kind=kind)


def followup_clock(
    kind: str,
    opened_at: datetime,
    policy: FollowUpPolicy | None = None,
    *,
    cal: WorkCalendar | None = None,
) -> FollowUpPlan:
    """The clock of a follow-up of `kind` opened at `opened_at` (`deadlines.followup_plan` with
    the kind's policy), on `cal` or the current calendar."""
    policy = policy or followup_policy(kind)
    return followup_plan(
        cal or calendar_from_db(),
        opened_at,
        verify_days=policy.verify_days,
        answer_days=policy.answer_days,
        escalate_days=policy.escalate_days,
    )


def appeal_due(cal: WorkCalendar, appealed_at: datetime, policy: FollowUpPolicy) -> datetime:
    """When the office must have decided an appeal lodged at `appealed_at`."""
    return cal.add_working_days(appealed_at, policy.appeal_days).at


def dues_after_appeal(
    cal: WorkCalendar,
    dues: Mapping[str, datetime],
    appealed_at: datetime,
    decided_at: datetime,
) -> dict[str, datetime]:
    """The due times (`DUE_FIELDS`) moved by the working time a rejected appeal took: the
    answer clock stood still while the office decided."""
    shift = pause_shift(cal, appealed_at, decided_at, "appeal")
    return {
        name: shift_due(cal, dues[name], LimitUnit.WORKING_DAYS, shift).at for name in DUE_FIELDS
    }


def clock_fields(plan: FollowUpPlan) -> dict:
    """A clock by the `FollowUp` fields that hold it (the next flag: the 50% warning)."""
    return {
        "verify_due_at": plan.verify_due,
        "answer_due_at": plan.answer_due,
        "escalate_at": plan.escalate_at,
        "warn_50_at": plan.warn_50,
        "warn_75_at": plan.warn_75,
        "next_flag_at": plan.warn_50,
    }


def responsible_unit_id(application: Application, item_case: ItemCase | None) -> int:
    """Who answers: the case's unit; for the whole application, the bundle's lead unit (or the
    single item's unit)."""
    if item_case is not None:
        return item_case.unit_id
    subject = application.subject
    return subject.lead_unit_id if isinstance(subject, Bundle) else subject.unit_id


def followup_open_for_rating(*, rating: Rating) -> FollowUp:
    """A bad review opens its follow-up (inside the rating's transaction)."""
    now = rating.rated_at
    follow_up = FollowUp.objects.create(
        kind=FollowUpKind.BAD_REVIEW,
        application=rating.application,
        item_case=rating.item_case,
        unit_id=responsible_unit_id(rating.application, rating.item_case),
        rating=rating,
        opened_at=now,
        **clock_fields(followup_clock(FollowUpKind.BAD_REVIEW, now)),
    )
    FollowUpEvent.objects.create(follow_up=follow_up, at=now, action=Action.OPEN)
    return follow_up


def followups_open_for_overdue(case_ids: Iterable[int], now: datetime) -> int:
    """Cases whose committed time has just passed open a follow-up each (the sweep calls this in
    its transaction, with the ids its overdue flag fired for). One clock for the batch: they all
    open now. A case that already has one is skipped. Returns how many were opened."""
    case_ids = list(case_ids)
    if not case_ids:
        return 0
    followed = set(
        FollowUp.objects.filter(
            item_case_id__in=case_ids, kind=FollowUpKind.MISSED_DEADLINE
        ).values_list("item_case_id", flat=True)
    )
    cases = [
        (pk, application_id, unit_id)
        for pk, application_id, unit_id in ItemCase.objects.filter(pk__in=case_ids).values_list(
            "pk", "application_id", "unit_id"
        )
        if pk not in followed
    ]
    if not cases:
        return 0
    clock = clock_fields(followup_clock(FollowUpKind.MISSED_DEADLINE, now))
    created = FollowUp.objects.bulk_create(
        FollowUp(
            kind=FollowUpKind.MISSED_DEADLINE,
            application_id=application_id,
            item_case_id=pk,
            unit_id=unit_id,
            opened_at=now,
            **clock,
        )
        for pk, application_id, unit_id in cases
    )
    FollowUpEvent.objects.bulk_create(
        FollowUpEvent(follow_up=f, at=now, action=Action.OPEN) for f in created
    )
    return len(created)


def _may_act_for_unit(actor, follow_up: FollowUp) -> bool:
    return actor.role == Role.REVIEWER and actor.unit_id == follow_up.unit_id


def _locked(follow_up: FollowUp, actor) -> FollowUp:
    if not _may_act_for_unit(actor, follow_up):
        raise PermissionDenied(_("Only the unit's own staff handle its follow-ups."))
    return FollowUp.objects.select_for_update().get(pk=follow_up.pk)


def followup_verify(*, follow_up: FollowUp, actor, contact_note: str, finding: str) -> FollowUp:
    """回访核实: the unit records how it contacted the rater (or checked the records) and whether
    the complaint is justified."""
    if not contact_note.strip():
        raise ValidationError({"contact_note": _("Say how the case was verified.")})
    if finding not in Finding.values:
        raise ValidationError({"finding": _("Choose whether the complaint is justified.")})
    with transaction.atomic():
        follow_up = _locked(follow_up, actor)
        if follow_up.state != FollowUpState.OPEN:
            raise ValidationError(_("This follow-up has already been verified."))
        follow_up.contact_note = contact_note.strip()
        follow_up.finding = finding
        follow_up.verify()
        follow_up.save()
        FollowUpEvent.objects.create(
            follow_up=follow_up, action=Action.VERIFY, actor=actor, note=finding
        )
    return follow_up


def followup_answer(*, follow_up: FollowUp, actor, rectification: str, answer: str) -> FollowUp:
    """整改 or explanation, and the answer the rater reads on their status page (and by message)."""
    errors = {}
    if not rectification.strip():
        errors["rectification"] = _("Describe the rectification or the explanation.")
    if not answer.strip():
        errors["answer"] = _("Write the answer to the applicant.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        follow_up = _locked(follow_up, actor)
        if follow_up.state != FollowUpState.VERIFIED:
            raise ValidationError(_("Verify the case before answering."))
        follow_up.rectification = rectification.strip()
        follow_up.answer = answer.strip()
        follow_up.give_answer()
        follow_up.save()
        FollowUpEvent.objects.create(follow_up=follow_up, action=Action.ANSWER, actor=actor)
        application = follow_up.application
        notify(
            recipient=application.applicant,
            phone=application.contact_phone,
            subject=_("Answer about your application %(reference)s")
            % {"reference": application.reference},
            body=follow_up.answer,
            link=reverse("applications:rate", kwargs={"reference": application.reference}),
        )
    return follow_up


def followup_rate_rectification(
    *, follow_up: FollowUp, grade: int, now: datetime | None = None
) -> FollowUp:
    """The rater judges the rectification, once, after the answer (the caller checked that this
    is the rater: the application's applicant)."""
    if grade not in Grade.values:
        raise ValidationError(_("Choose one of the five grades."))
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.kind != FollowUpKind.BAD_REVIEW or follow_up.state != FollowUpState.ANSWERED:
            raise ValidationError(_("There is no answer to rate yet."))
        if follow_up.rectification_grade is not None:
            raise ValidationError(_("The rectification has already been rated."))
        follow_up.rectification_grade = grade
        follow_up.rectification_rated_at = now or timezone.now()
        follow_up.save(update_fields=["rectification_grade", "rectification_rated_at"])
        FollowUpEvent.objects.create(
            follow_up=follow_up, action=Action.RECTIFICATION_RATED, note=str(grade)
        )
    return follow_up


def followup_appeal(*, follow_up: FollowUp, actor, reason: str) -> FollowUp:
    """申诉复核: the unit appeals a bad review it holds mistaken or malicious, once, with its
    reasons and evidence; the answer clock stops and the office has `appeal_days` working days."""
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reasons and the evidence for the appeal.")})
    with transaction.atomic():
        follow_up = _locked(follow_up, actor)
        if follow_up.kind != FollowUpKind.BAD_REVIEW:
            raise ValidationError(_("Only a review can be appealed; a missed deadline is a fact."))
        if follow_up.appealed_at is not None:
            raise ValidationError(_("This review has already been appealed."))
        if follow_up.state not in (FollowUpState.OPEN, FollowUpState.VERIFIED):
            raise ValidationError(_("An answered follow-up can no longer be appealed."))
        now = timezone.now()
        follow_up.appeal_reason = reason.strip()
        follow_up.appealed_by = actor
        follow_up.appeal_due_at = appeal_due(
            calendar_from_db(), now, followup_policy(follow_up.kind)
        )
        follow_up.appeal()
        follow_up.save()
        FollowUpEvent.objects.create(
            follow_up=follow_up, action=Action.APPEAL, actor=actor, note=follow_up.appeal_reason
        )
    return follow_up


def followup_appeal_decide(*, follow_up: FollowUp, actor, upheld: bool, note: str) -> FollowUp:
    """The office decides an appeal. Upheld: the follow-up closes and its review leaves the
    unit's figures (the rating stays stored). Rejected: the follow-up goes on where it was, its
    due times moved by the working time the appeal took."""
    if not actor.is_supervision_office:
        raise PermissionDenied(_("Only the supervision office decides appeals."))
    if not note.strip():
        raise ValidationError({"note": _("Give the reasons for the decision.")})
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if follow_up.state != FollowUpState.APPEALED:
            raise ValidationError(_("This appeal has already been decided."))
        follow_up.appeal_decided_by = actor
        follow_up.appeal_note = note.strip()
        if upheld:
            follow_up.uphold_appeal()
            action = Action.APPEAL_UPHELD
        else:
            appealed = follow_up.appealed_at or follow_up.opened_at
            dues = {name: getattr(follow_up, name) for name in DUE_FIELDS}
            moved = dues_after_appeal(calendar_from_db(), dues, appealed, timezone.now())
            for name, value in moved.items():
                setattr(follow_up, name, value)
            follow_up.reject_appeal()
            refresh_next_flag(follow_up)
            action = Action.APPEAL_REJECTED
        follow_up.save()
        FollowUpEvent.objects.create(
            follow_up=follow_up, action=action, actor=actor, note=follow_up.appeal_note
        )
    return follow_up


def followup_clocks_recompute(*, days: Iterable[date] = ()) -> int:
    """After a calendar change: the open follow-ups whose clock spans an edited day (every open
    one without `days`) get their due times again from the day they opened, on the calendar as
    it is now, and moved again by a rejected appeal's time. Flags already fired stay fired.
    Returns how many clocks moved."""
    follow_ups = FollowUp.objects.filter(state__in=(FollowUpState.OPEN, FollowUpState.VERIFIED))
    days = sorted(days)
    if days:
        tz = timezone.get_current_timezone()
        start = datetime.combine(days[0], time.min, tzinfo=tz)
        end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=tz)
        follow_ups = follow_ups.filter(opened_at__lt=end, escalate_at__gte=start)
    moved = []
    # not one query per row
    policies = {kind: followup_policy(kind) for kind in FollowUpKind.values}
    with transaction.atomic():
        cal = calendar_from_db()
        for follow_up in follow_ups.select_for_update().order_by("pk"):
            before = tuple(getattr(follow_up, name) for name in DUE_FIELDS)
            plan = followup_clock(
                follow_up.kind, follow_up.opened_at, policies[follow_up.kind], cal=cal
            )
            clock = clock_fields(plan)
            clock.pop("next_flag_at")
            if follow_up.appeal_upheld is False and follow_up.appealed_at:
                ended = follow_up.appeal_decided_at or follow_up.appealed_at
                clock.update(dues_after_appeal(cal, clock, follow_up.appealed_at, ended))
            for name, value in clock.items():
                setattr(follow_up, name, value)
            refresh_next_flag(follow_up)
            if tuple(getattr(follow_up, name) for name in DUE_FIELDS) != before:
                moved.append(follow_up)
        values_update(FollowUp, moved, [*DUE_FIELDS, "next_flag_at"])
    return len(moved)
