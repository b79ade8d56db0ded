"""Post-hoc verification of commitments (domain.md §5): every commitment opens exactly one
verification, at the decision of the first case needing its material, for that case's unit,
due the material policy's working days later; the sweep flags 50%, 75% and overdue once each."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from bundles.selectors import required_form_fields
from bundles.services import handling
from bundles.services.window import (
    MaterialHandedOver,
    materials_to_record,
    window_intake_record,
    window_intake_start,
)
from kuaiban.cases.models import CaseState, Commitment
from kuaiban.commitments.models import (
    CheckAction,
    CheckEvent,
    CheckMethod,
    CheckPolicy,
    CheckState,
    CommitmentCheck,
)
from kuaiban.commitments.services import (
    check_attach_evidence,
    check_conclude,
    check_record_method,
    checks_open_for_case,
)
from kuaiban.notifications.models import Notification
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from speedup.services.commitment_sweep import commitment_checks_sweep
from tests.builders import (
    TUESDAY_10AM,
    accepted,
    case_of,
    clerk_of,
    committed_draft,
    decided_with_commitment,
    reviewer_of,
    service_item,
    submit,
    upload,
    valid_value,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def decided(when=TUESDAY_10AM, **kwargs):
    with time_machine.travel(when, tick=False):
        return decided_with_commitment(**kwargs)


def test_rule_every_commitment_opens_exactly_one_verification_at_the_decision():
    application = accepted(
        submit(committed_draft(commit=("M-DEATH", "M-KINSHIP"))), clerk_of("SOCIAL")
    )
    assert application.commitments.count() == 2
    assert not CommitmentCheck.objects.exists()  # accepted, not decided: nothing yet
    case = case_of(application)
    reviewer = reviewer_of("SBZX")
    with time_machine.travel(TUESDAY_10AM, tick=False):
        handling.case_approve(case=case, actor=reviewer)
    checks = CommitmentCheck.objects.filter(application=application)
    assert checks.count() == 2
    assert set(checks.values_list("commitment__material__code", flat=True)) == {
        "M-DEATH",
        "M-KINSHIP",
    }
    for check in checks:
        assert (check.unit_id, check.item_case_id, check.owner) == (case.unit_id, case.pk, reviewer)
        assert check.state == CheckState.OPEN
        assert check.events.filter(action=CheckAction.OPEN).count() == 1
    # Asked again (another decision, a retry): nothing more; and the database refuses a second.
    case.refresh_from_db()
    assert checks_open_for_case(case=case, actor=reviewer) == []
    with pytest.raises(IntegrityError), transaction.atomic():
        first = checks.first()
        assert first is not None
        first.pk = None
        first.save()
    assert Commitment.objects.filter(application=application, post_check=None).count() == 0


def test_rule_a_material_needed_by_several_items_is_verified_once_by_the_first_deciding_unit():
    """B09: the death certificate serves several items; the first decision opens its check."""
    application = accepted(
        submit(committed_draft(bundle="B09", commit=("M-DEATH",))), clerk_of("BUNDLE")
    )
    needing = [
        c
        for c in application.cases.select_related("item", "unit").order_by("stage", "id")
        if c.item.materials.filter(code="M-DEATH").exists() and c.is_open
    ]
    assert len(needing) >= 2, "B09's first stage has several items needing the certificate"
    first, second = needing[:2]
    handling.case_approve(case=first, actor=reviewer_of(first.unit.code))
    handling.case_approve(case=second, actor=reviewer_of(second.unit.code))
    check = CommitmentCheck.objects.get(application=application)
    assert check.item_case_id == first.pk and check.unit_id == first.unit_id


def test_rule_a_denial_opens_the_verification_too():
    application = accepted(submit(committed_draft()), clerk_of("SOCIAL"))
    handling.case_deny(
        case=case_of(application), actor=reviewer_of("SBZX"), reason="不符合", legal_basis="条例"
    )
    assert CommitmentCheck.objects.filter(application=application).count() == 1


def test_rule_the_due_time_is_the_material_policys_working_days_after_the_decision():
    policy = CheckPolicy.objects.get(material__code="M-DEATH")
    assert (policy.days, policy.method) == (20, CheckMethod.SHARED_DATA)  # the fixture's default
    policy.days = 5
    policy.save()
    application = decided()
    check = CommitmentCheck.objects.get(application=application)
    decided_at = case_of(application).decided_at
    assert decided_at == TUESDAY_10AM
    assert check.due_at == calendar_from_db().add_working_days(decided_at, 5).at
    assert check.warn_50_at < check.warn_75_at < check.due_at
    assert check.next_flag_at == check.warn_50_at
    assert check.method == CheckMethod.SHARED_DATA


def test_rule_without_a_policy_the_default_is_twenty_working_days():
    CheckPolicy.objects.filter(material__code="M-DEATH").delete()
    application = decided()
    check = CommitmentCheck.objects.get(application=application)
    assert check.due_at == calendar_from_db().add_working_days(TUESDAY_10AM, 20).at


def test_rule_the_sweep_flags_each_threshold_once_with_one_event_and_one_message():
    application = decided()
    check = CommitmentCheck.objects.get(application=application)
    reviewer = reviewer_of("SBZX")
    messages = Notification.objects.filter(recipient=reviewer)
    marked = commitment_checks_sweep(now=check.warn_50_at + timedelta(minutes=1))
    assert marked == {"warn_50": 1, "warn_75": 0, "overdue": 0, "hearing_lapsed": 0}
    assert messages.count() == 1
    assert sum(commitment_checks_sweep(now=check.warn_50_at + timedelta(minutes=2)).values()) == 0
    later = check.due_at + timedelta(minutes=1)
    assert commitment_checks_sweep(now=later) == {
        "warn_50": 0,
        "warn_75": 1,
        "overdue": 1,
        "hearing_lapsed": 0,
    }
    assert sum(commitment_checks_sweep(now=later + timedelta(days=3)).values()) == 0
    check.refresh_from_db()
    assert check.overdue_at is not None and check.next_flag_at is None
    events = CheckEvent.objects.filter(check_row=check)
    for action in (CheckAction.WARN_50, CheckAction.WARN_75, CheckAction.OVERDUE):
        assert events.filter(action=action).count() == 1
    assert messages.count() == 3


def test_rule_a_concluded_verification_is_never_flagged():
    application = decided()
    check = CommitmentCheck.objects.get(application=application)
    check_conclude(
        check=check,
        actor=reviewer_of("SBZX"),
        finding=CheckState.CONFIRMED,
        outcome_note="民政数据一致",
    )
    check.refresh_from_db()
    assert check.next_flag_at is None and check.on_time is True
    assert sum(commitment_checks_sweep(now=check.due_at + timedelta(days=1)).values()) == 0
    assert Commitment.objects.get(pk=check.commitment_id).verification == "confirmed"


def test_rule_only_the_units_reviewers_verify(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    check = CommitmentCheck.objects.get(application=decided())
    for outsider in (reviewer_of("JYZX"), clerk_of("SOCIAL")):
        with pytest.raises(PermissionDenied):
            check_record_method(
                check=check, actor=outsider, method=CheckMethod.ON_SITE, method_note=""
            )
    colleague = reviewer_of("SBZX")
    check_record_method(
        check=check, actor=colleague, method=CheckMethod.ON_SITE, method_note="入户核查"
    )
    check_attach_evidence(check=check, actor=colleague, upload=upload())
    check.refresh_from_db()
    assert (check.method, check.owner, check.evidence.owner) == (
        CheckMethod.ON_SITE,
        colleague,
        colleague,
    )
    with pytest.raises(ValidationError):
        check_conclude(
            check=check, actor=colleague, finding=CheckState.FOUND_FALSE, outcome_note="x"
        )
    assert check.state == CheckState.OPEN
    assert case_of(check.application).state == CaseState.CONCLUDED


def test_rule_a_closure_on_the_working_calendar_moves_an_open_verifications_due_time():
    check = CommitmentCheck.objects.get(application=decided())  # decided Tuesday 2026-11-24
    before = check.due_at
    closure = CalendarDay.objects.get(date=date(2026, 11, 27))
    closure.kind, closure.name = CalendarDay.Kind.CLOSURE, "台风停工"
    closure.save()
    assert calendar_edited(CalendarChange(days=frozenset({closure.date}), background=False))
    check.refresh_from_db()
    assert check.due_at == calendar_from_db().add_working_days(TUESDAY_10AM, 20).at
    assert check.due_at.date() == before.date() + timedelta(days=1)
    assert check.next_flag_at == check.warn_50_at


def test_the_verification_log_is_append_only():
    check = CommitmentCheck.objects.get(application=decided())
    event = check.events.get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        CheckEvent.objects.filter(pk=event.pk).delete()
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE commitments_checkevent SET note = 'x' WHERE id = %s", [event.pk])


def test_rule_a_decision_at_the_window_opens_the_verification_for_the_items_unit():
    """In-person intake with a signed commitment, the instant item (养老金停发) concluded in the
    same sitting: the check belongs to the item's unit, with no owner yet (a clerk decided)."""
    person = UserFactory(citizen=True)
    clerk = clerk_of("SOCIAL")
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = window_intake_start(
            clerk=clerk,
            resident_id=person.resident_id,
            real_name=person.real_name,
            phone=person.phone,
            item=service_item("SI-024"),
        )
        handed = [
            MaterialHandedOver(m, signed_name=person.real_name, agreed=True)
            if m.code == "M-DEATH"
            else MaterialHandedOver(m, seen=True)
            for m in materials_to_record(application)
        ]
        result = window_intake_record(
            application=application,
            actor=clerk,
            form_data={f.code: valid_value(f) for f in required_form_fields(application)},
            delivery="pickup",
            materials=handed,
            conclude_instant=True,
        )
    assert result.ok
    check = CommitmentCheck.objects.get(application=application)
    assert (check.unit.code, check.owner, check.material.code) == ("SBZX", None, "M-DEATH")
    assert check.item_case.state == CaseState.CONCLUDED
