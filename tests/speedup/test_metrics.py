"""Speed-up metrics: handling time net of pauses, compared with the statutory limit."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bundles.services import handling, intake
from speedup.selectors import item_metrics, speedup_goal
from tests.builders import single_item_submitted, submitted
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db
PERIOD = {"start": datetime(2026, 11, 1, tzinfo=SH), "end": datetime(2026, 12, 31, tzinfo=SH)}


def at(*args):
    return datetime(*args, tzinfo=SH)


def licence_case(clerk_of, reviewer_of, *, accepted, decided, pause=None):
    """劳务派遣经营许可 (statutory 20 working days) accepted and approved at the given times."""
    with time_machine.travel(accepted, tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer = reviewer_of("LDGX")
    if pause:
        with time_machine.travel(pause[0], tick=False):
            handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证")
        with time_machine.travel(pause[1], tick=False):
            handling.case_resume(case=case, actor=reviewer)
    with time_machine.travel(decided, tick=False):
        handling.case_approve(case=case, actor=reviewer)
    case.refresh_from_db()
    return case


def test_handling_time_is_counted_in_working_days_net_of_pauses(clerk_of, reviewer_of):
    # Monday 11-02 → Monday 11-09: 5 working days.
    plain = licence_case(
        clerk_of, reviewer_of, accepted=at(2026, 11, 2, 10), decided=at(2026, 11, 9, 10)
    )
    assert plain.handling_days == 5
    # Same, with a hearing from Wednesday to Friday: 2 working days not counted.
    paused = licence_case(
        clerk_of,
        reviewer_of,
        accepted=at(2026, 11, 2, 10),
        decided=at(2026, 11, 9, 10),
        pause=(at(2026, 11, 4, 9), at(2026, 11, 6, 9)),
    )
    assert paused.handling_days == 3


def test_an_item_with_a_median_at_most_half_the_statutory_limit_counts_as_faster(
    clerk_of, reviewer_of
):
    for decided in (at(2026, 11, 9, 10), at(2026, 11, 10, 10), at(2026, 11, 16, 10)):
        licence_case(clerk_of, reviewer_of, accepted=at(2026, 11, 2, 10), decided=decided)
    (metrics,) = [m for m in item_metrics(**PERIOD) if m.item.name_zh == "劳务派遣经营许可"]
    assert metrics.concluded == 3
    assert metrics.median == 6  # 5, 6 and 10 working days
    assert metrics.share_of_statutory == pytest.approx(0.3)
    assert metrics.at_least_half_faster
    assert metrics.on_time == 3 and metrics.completed_late == 0


def test_a_slow_item_does_not_count(clerk_of, reviewer_of):
    licence_case(clerk_of, reviewer_of, accepted=at(2026, 11, 2, 10), decided=at(2026, 11, 24, 10))
    (metrics,) = [m for m in item_metrics(**PERIOD) if m.item.name_zh == "劳务派遣经营许可"]
    assert metrics.median == 16 and not metrics.at_least_half_faster
    assert metrics.completed_late == 1


def test_the_programme_goal_counts_speed_up_entries(clerk_of, reviewer_of):
    licence_case(clerk_of, reviewer_of, accepted=at(2026, 11, 2, 10), decided=at(2026, 11, 9, 10))
    with time_machine.travel(at(2026, 11, 24, 10, 0), tick=False):
        application = submitted("B10", answers={"BANK_OUTLET": True, "INSURED": True})
        intake.application_accept(application=application, actor=clerk_of("BUNDLE"))
    with time_machine.travel(at(2026, 11, 24, 10, 20), tick=False):
        for case in application.cases.select_related("unit"):
            handling.case_approve(case=case, actor=reviewer_of(case.unit.code))
    goal = speedup_goal(**PERIOD)
    assert len(goal.entries) == 23
    faster = {e.entry.number for e in goal.entries if e.at_least_half_faster}
    assert 21 in faster  # 劳务派遣经营许可
    assert goal.faster_count == len(faster) and not goal.met


def test_the_metrics_page_is_for_supervisors_only(client):
    client.force_login(UserFactory(citizen=True))
    assert client.get("/speedup/").status_code == 404
    client.force_login(UserFactory(supervisor=True))
    response = client.get("/speedup/?start=2026-11-01&end=2026-11-30")
    assert response.status_code == 200
    assert 'data-testid="goal"' in response.content.decode()
