"""申诉复核: a unit appeals a mistaken or malicious review once; the supervision office (局行风办)
decides within its time. Upheld, the review leaves the figures and stays stored; rejected, the
follow-up goes on with its due times moved by the time the appeal took."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kuaiban.catalog.models import District
from kuaiban.ratings.followups import (
    followup_appeal,
    followup_appeal_decide,
    followups_open_for_overdue,
)
from kuaiban.ratings.models import Channel, FollowUp, FollowUpState, Rating
from kuaiban.ratings.selectors import counted_ratings
from kuaiban.ratings.services import rating_submit
from speedup.services.followup_sweep import followups_sweep
from tests.builders import TUESDAY_10AM, accepted_instant_case, at, concluded, reviewer_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_up():
    application = concluded(when=TUESDAY_10AM)
    with time_machine.travel(TUESDAY_10AM, tick=False):
        rating = rating_submit(
            application=application,
            item_case=application.cases.first(),
            grade=1,
            channel=Channel.ONLINE,
            comment="恶意差评",
        )
    return rating.follow_up


def appeal(follow_up):
    """The unit appeals on Tuesday 2026-11-24 at 11:00."""
    with time_machine.travel(at(2026, 11, 24, 11, 0), tick=False):
        return followup_appeal(
            follow_up=follow_up,
            actor=reviewer_of(follow_up.unit.code),
            reason="评价人当日未到窗口办理，系误评",
        )


def test_rule_an_upheld_appeal_keeps_the_review_stored_and_out_of_the_figures(follow_up):
    appealed = appeal(follow_up)
    assert appealed.state == FollowUpState.APPEALED
    assert appealed.appeal_due_at == at(2026, 12, 1, 17, 30)  # 5 working days
    office = UserFactory(supervisor=True)
    followup_appeal_decide(follow_up=appealed, actor=office, upheld=True, note="核实为误评")
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.APPEAL_UPHELD
    assert Rating.objects.filter(pk=follow_up.rating_id).exists()
    assert not counted_ratings().filter(pk=follow_up.rating_id).exists()


def test_a_rejected_appeal_resumes_the_follow_up_with_its_due_times_moved(follow_up):
    answer_due = follow_up.answer_due_at
    appealed = appeal(follow_up)
    # Decided on Thursday after closing: Tuesday, Wednesday and Thursday were lost to the appeal
    # (the rule of a pause: a working day counts when the clock was stopped at its close).
    with time_machine.travel(at(2026, 11, 26, 18, 0), tick=False):
        followup_appeal_decide(
            follow_up=appealed, actor=UserFactory(supervisor=True), upheld=False, note="证据不足"
        )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.OPEN
    assert follow_up.answer_due_at == at(2026, 12, 4, 17, 30)  # 2026-12-01 + 3 working days
    assert follow_up.answer_due_at > answer_due
    assert counted_ratings().filter(pk=follow_up.rating_id).exists()


def test_an_appeal_is_made_once_and_only_of_a_review(follow_up):
    appealed = appeal(follow_up)
    followup_appeal_decide(
        follow_up=appealed, actor=UserFactory(supervisor=True), upheld=False, note="证据不足"
    )
    with pytest.raises(ValidationError):
        appeal(follow_up)
    case = accepted_instant_case()
    followups_open_for_overdue([case.pk], at(2026, 11, 24, 10, 31))
    missed = FollowUp.objects.get(item_case=case)
    with pytest.raises(ValidationError):
        appeal(missed)


def test_only_the_city_supervision_office_decides(follow_up):
    appealed = appeal(follow_up)
    district = UserFactory(supervisor=True, district=District.objects.first())
    for someone in (district, reviewer_of(follow_up.unit.code, head=True)):
        with pytest.raises(PermissionDenied):
            followup_appeal_decide(follow_up=appealed, actor=someone, upheld=True, note="x")


def test_the_answer_clock_stops_while_the_office_decides_and_a_late_decision_is_flagged(
    follow_up,
):
    UserFactory(supervisor=True)
    appeal(follow_up)
    with time_machine.travel(at(2026, 12, 1, 17, 31), tick=False):
        marked = followups_sweep()
    assert marked["appeal_overdue"] == 1
    assert marked["warn_50"] == marked["overdue"] == 0
    with time_machine.travel(at(2026, 12, 20, 10, 0), tick=False):
        assert sum(followups_sweep().values()) == 0


def test_the_unit_appeals_on_its_page_and_the_office_decides_on_its_list(client, follow_up):
    reviewer = reviewer_of(follow_up.unit.code)
    client.force_login(reviewer)
    client.post(
        reverse("staff:follow_up_appeal", args=[follow_up.pk]), {"reason": "系误评，附窗口录像"}
    )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.APPEALED
    client.force_login(UserFactory(supervisor=True))
    page = client.get(reverse("supervision:follow_ups"))
    assert f'data-testid="appeal-row" data-follow-up="{follow_up.pk}"'.encode() in page.content
    client.post(
        reverse("supervision:follow_up_decide", args=[follow_up.pk]),
        {"decision": "uphold", "note": "录像证实未办理"},
    )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.APPEAL_UPHELD
