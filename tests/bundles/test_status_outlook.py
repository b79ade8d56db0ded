"""The status page says when and what next (issue 16 part 4): the expected completion of each
item and of the application from the clocks, what to bring, a newest-first timeline in the
applicant's words, and a withdrawal that asks for confirmation."""

import pytest
from django.utils import timezone

from bundles.services import handling
from kuaiban.cases.models import ApplicationState, CaseEvent, EventAction
from tests.builders import (
    accepted,
    case_of,
    clerk_of,
    reviewer_of,
    single_item_submitted,
    submitted,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_expected_date_is_the_committed_due_time(client):
    """Rule STATUS-EXPECTED: an item's expected completion is its committed due time."""
    owner = UserFactory(citizen=True)
    application = accepted(single_item_submitted("LR-002", owner), clerk_of("LABOUR"))
    case = case_of(application)
    client.force_login(owner)
    page = client.get(f"/applications/{application.reference}/").content.decode()
    due = timezone.localtime(case.committed_due_at).date().isoformat()
    assert f'data-expected="{due}"' in page


def test_a_later_stage_has_no_date_until_it_starts(client):
    owner = UserFactory(citizen=True)
    application = accepted(submitted("B03", owner), clerk_of("BUNDLE"))
    client.force_login(owner)
    response = client.get(f"/applications/{application.reference}/")
    outlook = response.context["outlook"]
    assert outlook.expected is None and outlook.later_stages_waiting
    assert {row.waiting_for_stage for row in outlook.cases} == {True, False}


def test_the_timeline_is_newest_first_without_the_office_s_arithmetic(client):
    owner = UserFactory(citizen=True)
    application = accepted(single_item_submitted("LR-002", owner), clerk_of("LABOUR"))
    case = case_of(application)
    reviewer = reviewer_of(case.unit.code)
    handling.case_start_review(case=case, actor=reviewer)
    handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证")
    handling.case_resume(case=case, actor=reviewer)
    client.force_login(owner)
    timeline = client.get(f"/applications/{application.reference}/").context["timeline"]
    times = [row.event.at for row in timeline]
    assert times == sorted(times, reverse=True)
    actions = [row.event.action for row in timeline]
    assert actions[0] == EventAction.RESUME and actions[-1] == EventAction.CREATE
    resume = CaseEvent.objects.get(item_case=case, action=EventAction.RESUME)
    assert resume.reason  # the office's note of the shift …
    assert timeline[0].reason == ""  # … is not the applicant's
    assert next(r for r in timeline if r.event.action == EventAction.PAUSE).reason == "听证"


def test_a_withdrawal_needs_the_confirmation(client):
    owner = UserFactory(citizen=True)
    application = single_item_submitted("LR-002", owner)
    client.force_login(owner)
    path = f"/applications/{application.reference}/withdraw/"
    client.post(path, {"reason": "不需要了"})
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    client.post(path, {"reason": "不需要了", "confirm": "on"})
    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN


def test_the_paper_originals_to_bring_are_listed(client):
    """A personnel file (M-FILE) is never uploaded: the page says to bring it."""
    owner = UserFactory(citizen=True)
    application = single_item_submitted("TA-002", owner)
    client.force_login(owner)
    outlook = client.get(f"/applications/{application.reference}/").context["outlook"]
    assert [m.code for m in outlook.originals] == ["M-FILE"]
