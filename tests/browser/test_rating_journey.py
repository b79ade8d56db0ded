"""好差评 in real browsers: a citizen rates a concluded bundle 不满意 with a comment; the unit
verifies and answers; the citizen reads the answer and rates the rectification."""

import pytest
from playwright.sync_api import expect

from kuaiban.ratings.models import FollowUp, FollowUpState, Rating
from tests.builders import concluded
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_a_bad_review_is_verified_answered_and_the_rectification_rated(site, browser):
    citizen = UserFactory(citizen=True, username="rater", real_name="吴评价")
    application = concluded(citizen)
    lead_unit = application.bundle.lead_unit
    UserFactory(reviewer=True, username="unit-staff", unit=lead_unit)

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
