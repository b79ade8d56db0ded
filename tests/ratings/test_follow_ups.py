"""Follow-ups (domain.md §4): every bad review and every case that missed its committed time is
verified within 1 working day, answered within 5, escalated at 15 — on the working calendar, by
the same sweep as the cases, each flag once."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kuaiban.notifications.models import Notification
from kuaiban.ratings.followups import (
    followup_answer,
    followup_rate_rectification,
    followup_verify,
)
from kuaiban.ratings.models import Channel, FollowUp, FollowUpEvent, FollowUpState, Rating
from kuaiban.ratings.services import rating_submit
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from speedup.services.followup_sweep import followups_sweep
from speedup.services.sweep import deadlines_sweep
from tests.builders import TUESDAY_10AM, accepted_instant_case, at, concluded, reviewer_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def bad_review(application=None, when=TUESDAY_10AM, **kwargs):
    application = application or concluded(when=when)
    case = application.cases.select_related("unit").first()
    with time_machine.travel(when, tick=False):
        rating = rating_submit(
            application=application,
            item_case=case,
            grade=kwargs.pop("grade", 1),
            channel=Channel.ONLINE,
            comment="办理太慢",
            **kwargs,
        )
    return rating


def test_rule_a_bad_review_opens_a_follow_up_with_working_day_limits():
    rating = bad_review()  # Tuesday 2026-11-24 10:00
    follow_up = rating.follow_up
    assert follow_up.unit_id == rating.item_case.unit_id
    assert follow_up.state == FollowUpState.OPEN
    # Verify by close of business of the next working day; answer by the 5th; escalate at the
    # 15th (2026-12-15, a Tuesday: no holiday in between).
    assert follow_up.verify_due_at == at(2026, 11, 25, 17, 30)
    assert follow_up.answer_due_at == at(2026, 12, 1, 17, 30)
    assert follow_up.escalate_at == at(2026, 12, 15, 17, 30)
    assert follow_up.warn_50_at < follow_up.warn_75_at < follow_up.answer_due_at


@pytest.mark.parametrize("grade", [3, 4, 5])
def test_a_good_or_fair_review_opens_no_follow_up(grade):
    bad_review(grade=grade)
    assert not FollowUp.objects.exists()


def test_a_bad_review_of_the_whole_bundle_goes_to_its_lead_unit():
    application = concluded(when=TUESDAY_10AM)
    with time_machine.travel(TUESDAY_10AM, tick=False):
        rating = rating_submit(application=application, grade=2, channel=Channel.ONLINE)
    assert rating.follow_up.unit_id == application.bundle.lead_unit_id


def test_rule_a_case_past_its_committed_time_opens_a_follow_up_without_any_rating():
    case = accepted_instant_case()  # its application's instant cases are all due 10:30
    with time_machine.travel(at(2026, 11, 24, 10, 31), tick=False):
        deadlines_sweep()
        deadlines_sweep()  # a second sweep opens nothing more
    overdue = set(
        case.application.cases.filter(overdue_at__isnull=False).values_list("pk", flat=True)
    )
    assert case.pk in overdue
    follow_ups = FollowUp.objects.all()
    assert {f.item_case_id for f in follow_ups} == overdue and len(follow_ups) == len(overdue)
    assert {(f.kind, f.rating_id) for f in follow_ups} == {("missed_deadline", None)}
    assert not Rating.objects.exists()


def test_only_the_units_reviewers_verify_and_answer():
    follow_up = bad_review().follow_up
    outsider = reviewer_of("JYZX" if follow_up.unit.code != "JYZX" else "SBZX")
    with pytest.raises(PermissionDenied):
        followup_verify(
            follow_up=follow_up, actor=outsider, contact_note="电话回访", finding="justified"
        )
    with pytest.raises(PermissionDenied):
        followup_verify(
            follow_up=follow_up,
            actor=UserFactory(supervisor=True),
            contact_note="电话回访",
            finding="justified",
        )


def test_verify_then_answer_reaches_the_applicant_who_rates_the_rectification_once():
    rating = bad_review()
    follow_up = rating.follow_up
    reviewer = reviewer_of(follow_up.unit.code)
    with pytest.raises(ValidationError):  # answer before verifying
        followup_answer(follow_up=follow_up, actor=reviewer, rectification="x", answer="y")
    followup_verify(
        follow_up=follow_up, actor=reviewer, contact_note="电话回访，情况属实", finding="justified"
    )
    followup_answer(
        follow_up=follow_up,
        actor=reviewer,
        rectification="增加窗口人员",
        answer="您反映的排队问题已整改。",
    )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.ANSWERED and follow_up.next_flag_at is None
    applicant = rating.application.applicant
    assert Notification.objects.filter(
        recipient=applicant, body="您反映的排队问题已整改。"
    ).exists()
    followup_rate_rectification(follow_up=follow_up, grade=4)
    with pytest.raises(ValidationError):
        followup_rate_rectification(follow_up=follow_up, grade=5)
    follow_up.refresh_from_db()
    assert follow_up.rectification_grade == 4
    assert list(follow_up.events.values_list("action", flat=True)) == [
        "open",
        "verify",
        "answer",
        "rectification_rated",
    ]


def test_rule_an_unanswered_follow_up_is_flagged_once_at_5_working_days_and_escalated_at_15():
    follow_up = bad_review().follow_up
    reviewer = reviewer_of(follow_up.unit.code)
    UserFactory(supervisor=True)  # the city's supervision office
    with time_machine.travel(at(2026, 12, 1, 17, 29), tick=False):
        marked = followups_sweep()
    assert marked["overdue"] == 0 and marked["warn_50"] == 1 and marked["warn_75"] == 1
    with time_machine.travel(at(2026, 12, 1, 17, 31), tick=False):
        assert followups_sweep()["overdue"] == 1
        assert sum(followups_sweep().values()) == 0
    with time_machine.travel(at(2026, 12, 15, 17, 31), tick=False):
        assert followups_sweep()["escalated"] == 1
        assert sum(followups_sweep().values()) == 0
    follow_up.refresh_from_db()
    assert follow_up.overdue_at == at(2026, 12, 1, 17, 31)
    assert follow_up.escalated_at == at(2026, 12, 15, 17, 31)
    assert follow_up.next_flag_at is None
    assert FollowUpEvent.objects.filter(follow_up=follow_up, action="overdue").count() == 1
    assert Notification.objects.filter(recipient=reviewer).count() == 4
    assert Notification.objects.filter(recipient__role="supervisor").count() == 2


def test_an_answered_follow_up_is_never_flagged():
    follow_up = bad_review().follow_up
    reviewer = reviewer_of(follow_up.unit.code)
    followup_verify(
        follow_up=follow_up, actor=reviewer, contact_note="核实", finding="not_justified"
    )
    followup_answer(follow_up=follow_up, actor=reviewer, rectification="解释", answer="说明情况")
    with time_machine.travel(at(2026, 12, 31, 10, 0), tick=False):
        assert sum(followups_sweep().values()) == 0


def test_a_closure_on_the_working_calendar_moves_an_open_follow_ups_due_times():
    follow_up = bad_review().follow_up  # opened Tuesday 2026-11-24: answer by 2026-12-01
    closure = CalendarDay.objects.get(date=date(2026, 11, 27))
    closure.kind, closure.name = CalendarDay.Kind.CLOSURE, "台风停工"
    closure.save()
    assert calendar_edited(CalendarChange(days=frozenset({closure.date}), background=False))
    follow_up.refresh_from_db()
    assert follow_up.verify_due_at == at(2026, 11, 25, 17, 30)  # before the closure: unmoved
    assert follow_up.answer_due_at == at(2026, 12, 2, 17, 30)
    assert follow_up.escalate_at == at(2026, 12, 16, 17, 30)
