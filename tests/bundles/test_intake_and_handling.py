"""One-window intake and parallel back-office handling, through the services."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django_fsm import TransitionNotAllowed

from bundles.services import applications, handling, intake, materials, submission
from kuaiban.cases.models import Application, CaseEvent, ItemCase
from kuaiban.catalog.models import Material, Unit
from tests.builders import case_of, single_item_submitted, submitted, upload
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


# -- intake ------------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 9, 24, 10, 0, tzinfo=SH), tick=False)
def test_accepting_starts_the_clock_of_a_time_limited_item(clerk_of):
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    assert case.state == "accepted"
    # 10 working days committed, 20 statutory, from Thursday 2026-09-24 (holidays skipped).
    assert case.committed_due_at == datetime(2026, 10, 15, 17, 30, tzinfo=SH)
    assert case.statutory_due_at == datetime(2026, 10, 29, 17, 30, tzinfo=SH)
    assert case.original_committed_due_at == case.committed_due_at
    assert case.warn_50_at < case.warn_75_at < case.committed_due_at
    assert not case.due_provisional


@time_machine.travel(datetime(2026, 11, 20, 17, 55, tzinfo=SH), tick=False)
def test_an_online_instant_item_is_due_30_office_minutes_after_the_next_opening(clerk_of):
    application = submitted("B10")  # submitted Friday 17:55, after closing
    intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    case = case_of(application, "SI-025")
    assert case.clock_unit == "office_minutes"
    assert case.committed_due_at == datetime(2026, 11, 23, 9, 30, tzinfo=SH)


def test_a_clerk_of_another_window_cannot_accept(clerk_of):
    application = submitted("B10")
    with pytest.raises(PermissionDenied):
        intake.application_accept(application=application, actor=clerk_of("SOCIAL"))
    assert Application.objects.get(pk=application.pk).state == "submitted"


def test_a_second_accept_is_refused(clerk_of):
    application = submitted("B10")
    clerk = clerk_of("BUNDLE")
    intake.application_accept(application=application, actor=clerk)
    with pytest.raises(TransitionNotAllowed):
        intake.application_accept(application=application, actor=clerk)
    assert (
        CaseEvent.objects.filter(application=application, action="accept", item_case=None).count()
        == 1
    )


def test_instant_items_can_be_concluded_at_the_window_in_one_sitting(clerk_of):
    # A card made at the bank outlet, already insured: every item is instant.
    application = submitted("B10", answers={"BANK_OUTLET": True, "INSURED": True})
    assert {c.item.kind for c in application.cases.all()} == {"instant"}
    intake.application_accept(
        application=application, actor=clerk_of("BUNDLE"), conclude_instant=True
    )
    application.refresh_from_db()
    assert set(application.cases.values_list("state", flat=True)) == {"concluded"}
    assert application.state == "concluded"


def test_return_once_with_the_complete_list_then_only_for_what_changed(clerk_of):
    user = UserFactory(citizen=True)
    application = submitted("B07", user)
    clerk = clerk_of("BUNDLE")
    photo = Material.objects.get(code="M-PHOTO")
    contract = Material.objects.get(code="M-CONTRACT")
    intake.application_return(
        application=application, actor=clerk, material_ids=[photo.pk], note="照片不清晰"
    )
    assert set(application.cases.values_list("state", flat=True)) <= {"returned", "waiting"}
    # The applicant replaces the photo and resubmits.
    materials.material_upload(application=application, actor=user, material=photo, upload=upload())
    submission.application_submit(application=application, actor=user)
    # Returning again for something the applicant did not change is refused …
    with pytest.raises(ValidationError):
        intake.application_return(
            application=application, actor=clerk, material_ids=[contract.pk], note=""
        )
    # … but the changed photo may be returned again.
    intake.application_return(
        application=application, actor=clerk, material_ids=[photo.pk], note="仍不清晰"
    )
    assert application.return_notices.count() == 2


def test_refusal_needs_reason_and_basis_and_closes_every_case(clerk_of):
    application = submitted("B10")
    clerk = clerk_of("BUNDLE")
    with pytest.raises(ValidationError):
        intake.application_refuse(application=application, actor=clerk, reason="", legal_basis="")
    intake.application_refuse(
        application=application,
        actor=clerk,
        reason="不属于本市管辖",
        legal_basis="行政许可法第32条",
    )
    assert set(application.cases.values_list("state", flat=True)) == {"refused"}


def test_visits_are_counted(clerk_of):
    application = submitted("B10")
    intake.visit_record(application=application, actor=clerk_of("BUNDLE"), purpose="窗口提交")
    assert Application.objects.get(pk=application.pk).visits == 1


# -- back office -------------------------------------------------------------------------------


def test_a_reviewer_of_another_unit_cannot_touch_the_case(clerk_of, reviewer_of):
    application = submitted("B10")
    intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    case = case_of(application, "SI-025")  # 信息中心
    with pytest.raises(PermissionDenied):
        handling.case_start_review(case=case, actor=reviewer_of("SBZX"))
    handling.case_start_review(case=case, actor=reviewer_of("XXZX"))


def test_pause_then_resume_moves_both_due_dates_by_the_paused_working_days(clerk_of, reviewer_of):
    with time_machine.travel(datetime(2026, 9, 24, 10, 0, tzinfo=SH), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
        case = application.cases.get()
        reviewer = reviewer_of("LDGX")
        handling.case_start_review(case=case, actor=reviewer)
    committed, statutory = case.committed_due_at, case.statutory_due_at
    with time_machine.travel(datetime(2026, 10, 8, 9, 0, tzinfo=SH), tick=False):
        handling.case_pause(case=case, actor=reviewer, kind="expert_review", reason="专家评审")
    with time_machine.travel(datetime(2026, 10, 12, 9, 0, tzinfo=SH), tick=False):
        handling.case_resume(case=case, actor=reviewer)
    case.refresh_from_db()
    # Paused on 10-08, 10-09 and the make-up Saturday 10-10: three working days.
    assert case.committed_due_at == datetime(2026, 10, 20, 17, 30, tzinfo=SH)
    assert committed == datetime(2026, 10, 15, 17, 30, tzinfo=SH)
    assert case.statutory_due_at == datetime(2026, 11, 3, 17, 30, tzinfo=SH)
    assert statutory == datetime(2026, 10, 29, 17, 30, tzinfo=SH)
    assert "+3 个工作日" in case.deadline_notes and "10-08…10-12" in case.deadline_notes
    pause = case.pauses.get()
    assert pause.ended_at and pause.explanation
    event = CaseEvent.objects.get(item_case=case, action="resume")
    assert "+3 个工作日" in event.reason


def test_statutory_mode_is_recorded_with_its_reason(clerk_of, reviewer_of):
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer = reviewer_of("LDGX")
    with pytest.raises(ValidationError):
        handling.case_statutory_mode(case=case, actor=reviewer, reason=" ")
    handling.case_statutory_mode(case=case, actor=reviewer, reason="需现场核查经营场所")
    case.refresh_from_db()
    assert case.statutory_mode and case.statutory_mode_by == reviewer
    assert case.committed_due_at == case.statutory_due_at
    assert (
        "需现场核查经营场所"
        in CaseEvent.objects.get(item_case=case, action="statutory_mode").reason
    )


def test_the_statutory_mode_note_gives_the_new_due_time_in_local_time(clerk_of, reviewer_of):
    with time_machine.travel(datetime(2026, 9, 24, 10, 0, tzinfo=SH), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    handling.case_statutory_mode(case=case, actor=reviewer_of("LDGX"), reason="需现场核查")
    case.refresh_from_db()
    assert case.statutory_due_at == datetime(2026, 10, 29, 17, 30, tzinfo=SH)
    note = "按法定时限办理（需现场核查）：承诺时限改为 2026-10-29 17:30"  # not 09:30 (UTC)
    assert note in case.deadline_notes
    assert CaseEvent.objects.get(item_case=case, action="statutory_mode").reason == note


def test_an_extension_is_decided_by_the_unit_head_and_moves_the_statutory_due(
    clerk_of, reviewer_of
):
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer, head = reviewer_of("LDGX"), reviewer_of("LDGX", head=True)
    request = handling.extension_request(case=case, actor=reviewer, reason="需补充听证")
    with pytest.raises(PermissionDenied):
        handling.extension_decide(request=request, actor=reviewer, approve=True)
    before = ItemCase.objects.get(pk=case.pk).statutory_due_at
    handling.extension_decide(request=request, actor=head, approve=True)
    after = ItemCase.objects.get(pk=case.pk).statutory_due_at
    assert after > before


def test_asking_another_department_keeps_the_clock_running(clerk_of, reviewer_of):
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer = reviewer_of("LDGX")
    due = case.committed_due_at
    request = handling.department_request_send(
        case=case,
        actor=reviewer,
        department=Unit.objects.get(code="EXT-SCJG"),
        question="请核验营业执照登记信息",
    )
    case.refresh_from_db()
    assert case.state == "awaiting_department" and case.committed_due_at == due
    assert request.due_at > request.sent_at
    handling.department_reply_record(request=request, actor=reviewer, reply="信息一致")
    case.refresh_from_db()
    assert case.state == "in_review" and case.committed_due_at == due


def test_a_reply_that_comes_after_a_pause_and_resumption_is_still_recorded(
    client, clerk_of, reviewer_of
):
    """Paused for an appraisal while waiting for another department, then resumed: the case is
    in review again, and the department's reply can still be recorded from the case page."""
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer = reviewer_of("LDGX")
    request = handling.department_request_send(
        case=case,
        actor=reviewer,
        department=Unit.objects.get(code="EXT-SCJG"),
        question="请核验营业执照登记信息",
    )
    handling.case_pause(case=case, actor=reviewer, kind="appraisal", reason="委托鉴定")
    handling.case_resume(case=case, actor=reviewer)
    case.refresh_from_db()
    assert case.state == "in_review"
    client.force_login(reviewer)
    page = client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert 'data-testid="department-reply-form"' in page
    client.post(
        f"/staff/cases/{case.pk}/department-reply/",
        {"reply-request": request.pk, "reply-reply": "信息一致"},
    )
    request.refresh_from_db()
    case.refresh_from_db()
    assert request.reply == "信息一致" and request.replied_at is not None
    assert case.state == "in_review"
    assert CaseEvent.objects.filter(item_case=case, action="department_reply").count() == 1


def approve_all(application, stage, reviewers):
    for case in application.cases.filter(stage=stage).select_related("unit"):
        handling.case_approve(case=case, actor=reviewers[case.unit.code])


def test_stage_two_opens_when_stage_one_is_approved_and_all_conclude_together(
    clerk_of, reviewer_of
):
    application = submitted("B03")
    intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    reviewers = {code: reviewer_of(code) for code in ("JYZX", "SBZX", "EXT-YB")}
    stage2 = list(application.cases.filter(stage=2))
    assert stage2 and {c.state for c in stage2} == {"waiting"}
    approve_all(application, 1, reviewers)
    assert set(application.cases.filter(stage=2).values_list("state", flat=True)) == {"accepted"}
    assert all(c.committed_due_at for c in application.cases.filter(stage=2))
    assert Application.objects.get(pk=application.pk).state != "concluded"
    approve_all(application, 2, reviewers)
    application.refresh_from_db()
    assert application.state == "concluded"
    assert set(application.cases.values_list("state", flat=True)) == {"concluded"}


def test_a_denial_in_stage_one_closes_the_dependent_cases(clerk_of, reviewer_of):
    application = submitted("B03")
    intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    reviewer = reviewer_of("JYZX")
    first, second = application.cases.filter(stage=1)
    handling.case_approve(case=first, actor=reviewer)
    handling.case_deny(
        case=second, actor=reviewer, reason="不符合条件", legal_basis="就业服务与就业管理规定"
    )
    states = dict(application.cases.values_list("item__code", "state"))
    assert {states[c.item.code] for c in application.cases.filter(stage=2)} == {"closed"}
    assert Application.objects.get(pk=application.pk).state == "concluded"


@time_machine.travel(datetime(2026, 2, 13, 16, 0, tzinfo=SH), tick=False)
def test_a_case_accepted_on_the_friday_before_spring_festival_gets_the_right_due_dates(clerk_of):
    application = single_item_submitted("劳务派遣经营许可")
    intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    # 10 working days: Sat 02-14 (make-up day), then 02-24…27, Sat 02-28 (make-up), 03-02…05.
    assert case.committed_due_at == datetime(2026, 3, 5, 17, 30, tzinfo=SH)
    # 20 working days: … 03-06, 03-09…13, 03-16…19.
    assert case.statutory_due_at == datetime(2026, 3, 19, 17, 30, tzinfo=SH)


def test_an_application_can_be_withdrawn_after_some_items_were_approved(clerk_of, reviewer_of):
    user = UserFactory(citizen=True)
    application = submitted("B03", user)
    intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    first = application.cases.filter(stage=1).first()
    handling.case_approve(case=first, actor=reviewer_of("JYZX"))
    applications.application_withdraw(application=application, actor=user, reason="已在外地办理")
    application.refresh_from_db()
    assert application.state == "withdrawn"
    assert set(application.cases.values_list("state", flat=True)) == {"withdrawn"}
