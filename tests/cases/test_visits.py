"""跑动次数 counted from the in-person events themselves (`kuaiban.cases.visits`): the rules
VISIT-PER-DAY and VISIT-TARGET, and each kind of in-person event counting without anyone
recording a visit separately."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from bundles.services import delivery, handling, window
from kuaiban.cases.models import Application, CaseEvent, EventAction
from kuaiban.cases.visits import visit_target_for
from kuaiban.catalog.models import Bundle, ServiceHall, VisitTarget
from tests.builders import accepted, approved, case_of, single_item_ready, submit, submitted
from tests.factories import generated_phone, generated_resident_id

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=SH)
TUESDAY = datetime(2026, 11, 3, 10, 0, tzinfo=SH)

NONE, ONCE = VisitTarget.NONE, VisitTarget.AT_MOST_ONCE
ONLINE, WINDOW = Application.Channel.ONLINE, Application.Channel.WINDOW


def _visit_kinds(application) -> list[tuple[str, bool]]:
    return [
        (e.data["kind"], e.data["trip"])
        for e in CaseEvent.objects.filter(application=application, action=EventAction.VISIT)
    ]


@pytest.mark.parametrize(
    ("channel", "delivery_choice", "items", "expected"),
    [
        (ONLINE, "download", [NONE, NONE], NONE),
        (ONLINE, "mail", [NONE], NONE),
        (ONLINE, "pickup", [NONE], ONCE),  # collecting the results is a trip
        (ONLINE, "download", [NONE, ONCE], ONCE),  # one item needs the applicant in person
        (WINDOW, "download", [NONE], ONCE),  # came to the window: at most that one trip
    ],
)
def test_rule_visit_target_no_visit_only_online_with_download_or_post_and_no_item_needing_one(
    channel, delivery_choice, items, expected
):
    target = visit_target_for(channel=channel, delivery=delivery_choice, item_targets=items)
    assert target == expected


def test_rule_visit_target_is_fixed_at_submission_from_the_items(citizen):
    application = submitted("B03", citizen)  # online, downloaded, every item promises none
    assert application.visit_target == NONE and application.visits == 0
    with_card = submitted("B10", answers={"BANK_OUTLET": True, "INSURED": True})
    assert with_card.visit_target == ONCE  # the card is made at a bank branch, in person
    assert Bundle.objects.get(code="B03").visit_target == NONE
    assert Bundle.objects.get(code="B10").visit_target == ONCE


@pytest.fixture
def bundle_clerk(clerk_of):
    clerk = clerk_of("BUNDLE")
    clerk.hall = ServiceHall.objects.order_by("code").first()
    clerk.save(update_fields=["hall"])
    return clerk


def _window_application(clerk) -> Application:
    return window.window_intake_start(
        clerk=clerk,
        resident_id=generated_resident_id(),
        real_name="周晓",
        phone=generated_phone(),
        bundle=Bundle.objects.get(code="B10"),
    )


def test_rule_visit_per_day_events_of_one_day_are_one_trip_a_later_day_another(bundle_clerk):
    clerk = bundle_clerk
    with time_machine.travel(MONDAY, tick=False):
        application = _window_application(clerk)
        assert application.visits == 1
        # the clerk records the sitting twice (a correction): the same trip
        window.window_intake_record(
            application=application, actor=clerk, form_data=None, materials=[]
        )
    application.refresh_from_db()
    assert application.visits == 1
    with time_machine.travel(TUESDAY, tick=False):  # the person comes back to finish
        window.window_intake_record(
            application=application, actor=clerk, form_data=None, materials=[]
        )
    application.refresh_from_db()
    assert application.visits == 2
    assert _visit_kinds(application) == [
        ("window_submission", True),
        ("window_submission", False),
        ("return_visit", True),
    ]


def test_a_pick_up_counts_a_visit_by_itself(citizen, clerk_of, reviewer_of):
    clerk = clerk_of("LABOUR")
    application = single_item_ready("LR-002", citizen)
    Application.objects.filter(pk=application.pk).update(delivery="pickup")
    application = submit(application)
    assert application.visit_target == ONCE  # collecting the results is the one trip
    with time_machine.travel(MONDAY, tick=False):
        application = accepted(application, clerk)
        approved(case_of(application), reviewer_of(case_of(application).unit.code))
    with time_machine.travel(TUESDAY, tick=False):
        delivery.results_handed_over(application=application, actor=clerk)
    application.refresh_from_db()
    assert application.visits == 1 and _visit_kinds(application) == [("pickup", True)]
    assert not application.broke_visit_target


def test_an_on_site_check_counts_a_visit_and_can_break_a_no_visit_promise(
    citizen, reviewer_of, bundle_clerk
):
    application = accepted(submitted("B03", citizen), bundle_clerk)
    case = case_of(application, "EM-002")  # stage 1: open once accepted
    reviewer = reviewer_of(case.unit.code)
    with pytest.raises(ValidationError):
        handling.case_on_site_check(case=case, actor=reviewer, note="  ")
    with pytest.raises(PermissionDenied):  # another unit's reviewer
        handling.case_on_site_check(case=case, actor=reviewer_of("SBZX"), note="核对原件")
    handling.case_on_site_check(case=case, actor=reviewer, note="核对解除劳动合同证明原件")
    application.refresh_from_db()
    assert application.visits == 1 and application.visit_target == NONE
    assert application.broke_visit_target
    event = CaseEvent.objects.get(application=application, action=EventAction.VISIT)
    assert (
        event.item_case == case
        and event.actor == reviewer
        and event.reason == "核对解除劳动合同证明原件"
    )
    assert event.data["kind"] == "on_site_check"


def test_an_online_application_with_downloaded_results_makes_no_visit(
    citizen, reviewer_of, bundle_clerk
):
    application = accepted(submitted("B03", citizen), bundle_clerk)
    for case in application.cases.all():
        approved(case, reviewer_of(case.unit.code))
    application.refresh_from_db()
    assert application.state == "concluded"
    assert application.visits == 0 and not application.broke_visit_target
    assert _visit_kinds(application) == []
