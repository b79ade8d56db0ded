"""A false commitment (domain.md §5): a hearing first (the notice, the time to answer, the
answer), then the unit head's decision — the decision resting on it stopped (not yet concluded)
or revoked (concluded), each a transition with its event, reason and legal basis; a repayment
order; a bar from the commitment route, lifted only by a recorded decision."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from bundles.services import handling, materials, submission
from bundles.services.window import MaterialHandedOver, window_intake_record, window_intake_start
from kuaiban.cases.models import CaseEvent, CaseState, EventAction
from kuaiban.catalog.models import Material
from kuaiban.commitments.models import (
    CheckAction,
    CheckState,
    CommitmentBar,
    CommitmentCheck,
    HearingOutcome,
    HearingState,
)
from kuaiban.commitments.selectors import active_bar
from kuaiban.commitments.services import (
    bar_lift,
    check_conclude,
    hearing_answer,
    hearing_decide,
    repayment_record_paid,
)
from kuaiban.documents.models import DocumentKind, ResultDocument
from kuaiban.notifications.models import Notification
from speedup.services.commitment_sweep import commitment_checks_sweep
from tests.builders import (
    TUESDAY_10AM,
    accepted,
    clerk_of,
    committed_draft,
    decided_with_commitment,
    draft,
    reviewer_of,
    service_item,
    submit,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def found_false(application):
    check = CommitmentCheck.objects.get(application=application)
    check_conclude(
        check=check,
        actor=reviewer_of("SBZX"),
        finding=CheckState.FOUND_FALSE,
        outcome_note="死亡信息与公安数据不符",
        legal_basis="《社会保险法》第八十八条",
    )
    check.refresh_from_db()
    return check


def sanction(check, head, **kwargs):
    kwargs.setdefault("outcome", HearingOutcome.SANCTIONED)
    kwargs.setdefault("reason", "承诺不实")
    return hearing_decide(hearing=check.hearing, actor=head, **kwargs)


def test_rule_found_false_sends_the_hearing_notice_and_nothing_is_sanctioned_yet():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
    hearing = check.hearing
    assert hearing.state == HearingState.SENT
    assert hearing.respond_by > hearing.sent_at
    assert Notification.objects.filter(
        recipient=application.applicant, link__contains=application.reference
    ).exists()
    assert application.cases.get().state == CaseState.CONCLUDED
    assert active_bar(application.applicant) is None
    assert check.commitment.verification == "false"


def test_rule_the_head_decides_only_after_the_answer_or_the_time_to_answer():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
        head = reviewer_of("SBZX", head=True)
        with pytest.raises(ValidationError):
            sanction(check, head)
        with pytest.raises(PermissionDenied):
            hearing_answer(hearing=check.hearing, actor=UserFactory(citizen=True), response="x")
        hearing_answer(hearing=check.hearing, actor=application.applicant, response="信息有误")
        assert Notification.objects.filter(recipient=head).count() == 1  # to decide
        with pytest.raises(PermissionDenied):
            sanction(check, reviewer_of("SBZX"))  # a reviewer, not the head
        sanction(check, head)
    check.hearing.refresh_from_db()
    assert check.hearing.state == HearingState.DECIDED
    assert check.hearing.response == "信息有误"


def test_rule_no_answer_after_the_time_is_over_and_then_the_head_may_decide():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
    head = reviewer_of("SBZX", head=True)
    after = check.hearing.respond_by + timedelta(minutes=1)
    assert commitment_checks_sweep(now=after)["hearing_lapsed"] == 1  # the head is told, once
    assert commitment_checks_sweep(now=after)["hearing_lapsed"] == 0
    assert Notification.objects.filter(recipient=head).count() == 1
    assert check.events.filter(action=CheckAction.HEARING_LAPSED).count() == 1
    with time_machine.travel(after, tick=False):
        with pytest.raises(ValidationError):
            hearing_answer(hearing=check.hearing, actor=application.applicant, response="迟了")
        sanction(check, head)


def test_rule_revocation_is_a_transition_with_its_event_repayment_and_bar():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
        head = reviewer_of("SBZX", head=True)
        hearing_answer(hearing=check.hearing, actor=application.applicant, response="无")
        sanction(
            check,
            head,
            repayment_amount=Decimal("12000.00"),
            repayment_due=date(2026, 12, 31),
            bar_months=36,
        )
    case = application.cases.get()
    assert case.state == CaseState.REVOKED
    event = CaseEvent.objects.get(item_case=case, action=EventAction.REVOKE)
    assert (event.from_state, event.to_state, event.actor) == ("concluded", "revoked", head)
    assert event.reason == "承诺不实"
    assert event.data["legal_basis"] == "《社会保险法》第八十八条"
    # the approval's notice stands as issued; a revocation notice names it
    approval = ResultDocument.objects.get(item_case=case, kind=DocumentKind.APPROVAL)
    revocation = ResultDocument.objects.get(revokes=approval)
    assert revocation.kind == DocumentKind.REVOCATION
    order = check.repayments.get()
    assert (order.amount, order.due_date, order.is_paid) == (
        Decimal("12000.00"),
        date(2026, 12, 31),
        False,
    )
    repayment_record_paid(order=order, actor=reviewer_of("SBZX"))
    order.refresh_from_db()
    assert order.is_paid
    bar = CommitmentBar.objects.get(person=application.applicant)
    assert (bar.until, bar.imposed_by, bar.check_row) == (date(2029, 11, 24), head, check)
    assert active_bar(application.applicant, today=date(2029, 11, 24)) == bar
    assert active_bar(application.applicant, today=date(2029, 11, 25)) is None
    actions = set(check.events.values_list("action", flat=True))
    assert {
        CheckAction.HEARING_NOTICE,
        CheckAction.HEARING_RESPONSE,
        CheckAction.HEARING_DECISION,
        CheckAction.REPAYMENT_ORDERED,
        CheckAction.REPAYMENT_PAID,
        CheckAction.BARRED,
    } <= actions


def test_rule_an_approval_not_yet_concluded_is_stopped():
    """B09: one approved case needing the certificate while others are open: stopped; the
    application's other cases go on."""
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = accepted(
            submit(committed_draft(bundle="B09", commit=("M-DEATH",))), clerk_of("BUNDLE")
        )
        first = next(
            c
            for c in application.cases.select_related("item", "unit").order_by("stage", "id")
            if c.item.materials.filter(code="M-DEATH").exists() and c.is_open
        )
        handling.case_approve(case=first, actor=reviewer_of(first.unit.code))
        check = CommitmentCheck.objects.get(application=application)
        check_conclude(
            check=check,
            actor=reviewer_of(first.unit.code),
            finding=CheckState.FOUND_FALSE,
            outcome_note="不实",
            legal_basis="依据",
        )
        check.refresh_from_db()
    with time_machine.travel(check.hearing.respond_by + timedelta(hours=1), tick=False):
        hearing_decide(
            hearing=check.hearing,
            actor=reviewer_of(first.unit.code, head=True),
            outcome=HearingOutcome.SANCTIONED,
            reason="承诺不实",
        )
    first.refresh_from_db()
    assert first.state == CaseState.STOPPED
    assert CaseEvent.objects.filter(item_case=first, action=EventAction.STOP).count() == 1
    assert active_bar(application.applicant).until is None  # 0 months: until lifted


def test_rule_a_hearing_may_clear_the_applicant():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
        hearing_answer(hearing=check.hearing, actor=application.applicant, response="有证明")
        sanction(check, reviewer_of("SBZX", head=True), outcome=HearingOutcome.CLEARED)
    check.refresh_from_db()
    assert check.state == CheckState.CONFIRMED
    assert application.cases.get().state == CaseState.CONCLUDED
    assert active_bar(application.applicant) is None
    assert check.commitment.verification == "confirmed"


def barred_person():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
        check = found_false(application)
        hearing_answer(hearing=check.hearing, actor=application.applicant, response="无")
        sanction(check, reviewer_of("SBZX", head=True), bar_months=12)
    return application.applicant, check


def test_rule_a_barred_applicant_cannot_commit_online_and_is_told_why(client):
    person, _check = barred_person()
    application = draft(person, "B09")
    death = Material.objects.get(code="M-DEATH")
    with pytest.raises(ValidationError) as refused:
        materials.material_commit(
            application=application,
            actor=person,
            material=death,
            signed_name=person.real_name,
            agreed=True,
        )
    assert "承诺不实" in refused.value.messages[0]  # the reason, as recorded
    client.force_login(person)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert 'data-testid="commitment-barred"' in page and "承诺不实" in page
    assert 'name="action" value="commit"' not in page


def test_rule_a_barred_applicant_cannot_commit_at_the_window_and_the_clerk_sees_why(client):
    person, _check = barred_person()
    clerk = clerk_of("SOCIAL")
    application = window_intake_start(
        clerk=clerk,
        resident_id=person.resident_id,
        real_name=person.real_name,
        phone=person.phone,
        item=service_item("SI-009"),
    )
    assert application.applicant == person
    death = Material.objects.get(code="M-DEATH")
    result = window_intake_record(
        application=application,
        actor=clerk,
        form_data=None,
        materials=[MaterialHandedOver(death, signed_name=person.real_name, agreed=True)],
    )
    assert "承诺不实" in result.material_errors["M-DEATH"][0]
    assert not application.commitments.exists()
    client.force_login(clerk)
    page = client.get(f"/staff/intake/new/{application.reference}/").content.decode()
    assert 'data-testid="commitment-barred"' in page


def test_rule_a_bar_is_lifted_only_by_the_units_head_with_a_reason():
    person, check = barred_person()
    bar = CommitmentBar.objects.get(person=person)
    with pytest.raises(PermissionDenied):
        bar_lift(bar=bar, actor=reviewer_of("SBZX"), reason="误判")
    with pytest.raises(ValidationError):
        bar_lift(bar=bar, actor=reviewer_of("SBZX", head=True), reason=" ")
    head = reviewer_of("SBZX", head=True)
    bar_lift(bar=bar, actor=head, reason="复核撤销")
    assert active_bar(person) is None
    event = check.events.get(action=CheckAction.BAR_LIFTED)
    assert (event.actor, event.note) == (head, "复核撤销")


def test_rule_commitments_signed_before_a_bar_no_longer_stand_in_for_the_proofs():
    person = UserFactory(citizen=True)
    pending = committed_draft(person, bundle="B09", commit=("M-DEATH",))  # signed, not submitted
    assert not submission.missing_for_submission(pending)
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment(person)
        check = found_false(application)
        hearing_answer(hearing=check.hearing, actor=person, response="无")
        sanction(check, reviewer_of("SBZX", head=True))
    problems = submission.missing_for_submission(pending)
    assert any("承诺不实" in p for p in problems)
    with pytest.raises(ValidationError):
        submission.application_submit(application=pending, actor=person)
