"""The reviewer's queue scales to a real day (issue 16 part 7): views with their counts, a
search by reference or ID number, pages of 50, and the office time each case has left."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from desk import selectors
from kuaiban.cases.clocks import office_time_left
from kuaiban.cases.models import CaseState, ItemCase
from kuaiban.workdays.units import LimitUnit
from tests.builders import accepted, case_of, clerk_of, reviewer_of, single_item_submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def two_cases():
    """Two LR-002 cases of 劳动关系处 (LDGX): one overdue, one with its time."""
    owner = UserFactory(citizen=True)
    clerk = clerk_of("LABOUR")
    cases = [case_of(accepted(single_item_submitted("LR-002", owner), clerk)) for _ in range(2)]
    ItemCase.objects.filter(pk=cases[0].pk).update(
        committed_due_at=datetime(2026, 1, 1, tzinfo=SHANGHAI)
    )
    return cases


def test_the_overdue_view_shows_the_overdue_case_and_counts_each_view(client, two_cases):
    reviewer = reviewer_of("LDGX")
    client.force_login(reviewer)
    response = client.get("/staff/cases/?show=overdue")
    rows = [row.case.pk for row in response.context["cases"]]
    assert rows == [two_cases[0].pk]
    counts = {name: count for name, _label, count in response.context["views"]}
    assert counts["all"] == 2 and counts["overdue"] == 1 and counts["paused"] == 0
    assert counts["mine"] == 0  # nobody has started a review yet


def test_a_case_is_found_by_reference_or_the_applicant_s_id_number(client, two_cases):
    client.force_login(reviewer_of("LDGX"))
    reference = two_cases[1].application.reference
    found = client.get("/staff/cases/", {"q": reference.lower()}).context["cases"]
    assert [row.case.pk for row in found] == [two_cases[1].pk]
    number = two_cases[0].application.applicant.resident_id
    by_id = client.get("/staff/cases/", {"q": number}).context["cases"]
    assert {row.case.pk for row in by_id} == {c.pk for c in two_cases}  # the same applicant
    assert client.get("/staff/cases/", {"q": "KB-NOTHING"}).context["cases"] == []


def test_the_queue_is_paged(client, two_cases, monkeypatch):
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 1)
    client.force_login(reviewer_of("LDGX"))
    first = client.get("/staff/cases/")
    assert len(first.context["cases"]) == 1 and 'data-testid="pager"' in first.content.decode()
    second = client.get("/staff/cases/?page=2").context["cases"]
    assert second[0].case.pk != first.context["cases"][0].case.pk
    assert client.get("/staff/cases/?page=99").status_code == 200  # the last page
    # The next page keeps the chosen view and search.
    number = two_cases[0].application.applicant.resident_id  # both cases are this person's
    searched = client.get("/staff/cases/", {"show": "all", "q": number}).content.decode()
    assert f'href="?show=all&amp;q={number}&amp;page=2" rel="next"' in searched


@time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI), tick=False)
def test_the_time_left_is_office_time_not_calendar_time():
    """Rule DESK-OFFICE-TIME: a day clock reads in working days (halves), an instant item's in
    office minutes; a weekend between does not count."""
    case = ItemCase(
        state=CaseState.IN_REVIEW,
        clock_unit=LimitUnit.WORKING_DAYS,
        # Tuesday 09:00 → Wednesday 13:30 is a day and a half of office time
        committed_due_at=datetime(2026, 12, 2, 13, 30, tzinfo=SHANGHAI),
    )
    now = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    left = office_time_left(case, now)
    assert (left.amount, left.unit, left.overdue) == (1.5, LimitUnit.WORKING_DAYS, False)
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=SHANGHAI)
    case.committed_due_at = datetime(2026, 12, 7, 9, 20, tzinfo=SHANGHAI)  # Monday
    case.clock_unit = LimitUnit.OFFICE_MINUTES
    assert office_time_left(case, friday).amount == pytest.approx(50)  # 30 + 20, no weekend
    late = office_time_left(case, case.committed_due_at + timedelta(hours=1))
    assert late.overdue and late.amount == pytest.approx(-60)


def test_each_row_of_the_queue_shows_the_office_time_left(client, two_cases):
    """The page, not only the selector: each row says the office time left in the clock's own
    unit (剩余 … 个工作日 / 已超期 …), never a wall-clock duration."""
    client.force_login(reviewer_of("LDGX"))
    page = client.get("/staff/cases/").content.decode()
    assert page.count('data-testid="time-left"') == 2
    assert "已超期" in page and "剩余" in page
