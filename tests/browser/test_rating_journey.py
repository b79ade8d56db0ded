"""好差评 in real browsers: a citizen rates a concluded bundle 不满意 with a comment; the unit
verifies and answers; the citizen reads the answer and rates the rectification; the
supervisor's figures move at each step and equal direct counts."""

import pytest
from playwright.sync_api import expect

from acceptance.rollups import rollup_refresh
from kuaiban.ratings.models import FollowUp, FollowUpState, Rating
from tests.builders import concluded
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser


def supervisor_sees(page, site) -> dict[str, tuple[int, int]]:
    """After the routine refresh (beat's), the dashboard's 好差评 rates as the supervisor reads
    them: rate → (numerator, denominator)."""
    rollup_refresh()
    page.goto(f"{site}/supervision/dashboard/")
    rates = {}
    for tile in page.get_by_test_id("rating-rate").all():
        rates[tile.get_attribute("data-rate")] = (
            int(tile.get_attribute("data-numerator")),
            int(tile.get_attribute("data-denominator")),
        )
    return rates


def direct() -> dict[str, tuple[int, int]]:
    follow_ups = FollowUp.objects.exclude(state=FollowUpState.APPEAL_UPHELD)
    answered = follow_ups.filter(state=FollowUpState.ANSWERED)
    rated = FollowUp.objects.filter(rectification_grade__isnull=False)
    return {
        "answered_rate": (answered.count(), follow_ups.count()),
        "bad_rate": (Rating.objects.filter(grade__lte=2).count(), Rating.objects.count()),
        "rectification_rate": (rated.filter(rectification_grade__gte=3).count(), rated.count()),
    }


def test_a_bad_review_is_verified_answered_and_the_rectification_rated(site, browser):
    citizen = UserFactory(citizen=True, username="rater", real_name="吴评价")
    application = concluded(citizen)
    lead_unit = application.bundle.lead_unit
    UserFactory(reviewer=True, username="unit-staff", unit=lead_unit)
    UserFactory(supervisor=True, username="watcher")
    supervisor = browser.new_context().new_page()
    log_in(supervisor, site, "watcher")
    before = supervisor_sees(supervisor, site)
    assert before["answered_rate"] == (0, 0) and before["bad_rate"] == (0, 0)

    # The citizen, on a phone, is invited to rate on the status page.
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(phone, site, "rater")
    phone.goto(f"{site}/applications/{application.reference}/")
    phone.get_by_test_id("rate-invitation").locator("a").click()
    form = phone.get_by_test_id("rating-form")
    form.locator("select[name=target]").select_option("all")
    form.locator("input[name=grade][value='2']").check()
    form.locator("textarea[name=comment]").fill("材料已共享，窗口仍要求重复提交")
    form.locator("button[type=submit]").click()
    expect(phone.locator(".messages")).to_contain_text(application.reference)
    rating = Rating.objects.get(application=application, item_case=None)
    assert (rating.grade, rating.named) == (2, False)
    # The bad review is on the supervisor's dashboard, its follow-up one to answer.
    seen = supervisor_sees(supervisor, site)
    assert seen["bad_rate"] == (1, 1) and seen["answered_rate"] == (0, 1)
    assert {key: seen[key] for key in direct()} == direct()

    # The lead unit verifies and answers from its follow-up queue.
    desk = browser.new_context().new_page()
    log_in(desk, site, "unit-staff")
    desk.goto(f"{site}/staff/follow-ups/")
    desk.get_by_test_id("follow-up-row").locator("a").click()
    expect(desk.get_by_test_id("rating-comment")).to_have_text("材料已共享，窗口仍要求重复提交")
    expect(desk.get_by_test_id("rater")).not_to_contain_text("吴评价")
    verify = desk.get_by_test_id("verify-form")
    verify.locator("textarea[name=contact_note]").fill("调取窗口记录，情况属实")
    verify.locator("input[name=finding][value=justified]").check()
    verify.locator("button[type=submit]").click()
    answer = desk.get_by_test_id("answer-form")
    answer.locator("textarea[name=rectification]").fill("已通报窗口，共享材料不再要求提交")
    answer.locator("textarea[name=answer]").fill("经核实情况属实，已整改，感谢您的监督。")
    answer.locator("button[type=submit]").click()
    expect(desk.get_by_test_id("answer")).to_have_text("经核实情况属实，已整改，感谢您的监督。")
    seen = supervisor_sees(supervisor, site)
    assert seen["answered_rate"] == (1, 1) and seen["rectification_rate"] == (0, 0)
    assert {key: seen[key] for key in direct()} == direct()

    # The citizen reads the answer and rates the rectification.
    phone.goto(f"{site}/applications/{application.reference}/")
    expect(phone.get_by_test_id("follow-up-answers")).to_contain_text("已整改，感谢您的监督")
    phone.goto(f"{site}/applications/{application.reference}/rate/")
    answers = phone.get_by_test_id("follow-up-answers")
    answers.locator("input[name=grade][value='4']").check()
    answers.locator("button[type=submit]").click()
    # The form has given way to the verdict.
    expect(phone.get_by_test_id("follow-up-answers").locator("form")).to_have_count(0)
    expect(phone.get_by_test_id("follow-up-answers")).to_contain_text("满意")
    follow_up = FollowUp.objects.get(rating=rating)
    assert (follow_up.state, follow_up.rectification_grade) == (FollowUpState.ANSWERED, 4)
    seen = supervisor_sees(supervisor, site)
    assert seen["rectification_rate"] == (1, 1)
    assert {key: seen[key] for key in direct()} == direct()
    # The supervisor opens the reviews behind the bad-review count: the comment, no name.
    supervisor.get_by_test_id("rating-counts").locator("[data-count=whole_bad] a").click()
    expect(supervisor.get_by_test_id("review-row")).to_have_count(1)
    expect(supervisor.get_by_test_id("review-row")).to_contain_text("窗口仍要求重复提交")
    expect(supervisor.get_by_test_id("rater")).not_to_contain_text("吴评价")
