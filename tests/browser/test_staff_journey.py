"""Intake at one window and parallel handling in the back office, in real browsers."""

import re

import pytest
from playwright.sync_api import expect

from kuaiban.cases.models import Application, ItemCase
from kuaiban.catalog.models import Unit, Window
from tests.builders import ready_application
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser


def staff(browser, site, username):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, site, username)
    return page


def handle(page, site, case, *, pause=False):
    """Open a case from the reviewer's queue, review it (pausing once if asked) and approve."""
    page.goto(f"{site}/staff/cases/")
    page.locator(f'a[href="/staff/cases/{case.pk}/"]').first.click()
    page.get_by_test_id("start-review-form").locator("button").click()
    expect(page.get_by_test_id("case-state")).to_have_attribute("data-state", "in_review")
    if pause:
        form = page.get_by_test_id("pause-form")
        form.locator("select[name=pause-kind]").select_option("expert_review")
        form.locator("[name=pause-reason]").fill("委托专家评审参保资格")
        form.locator("button").click()
        expect(page.get_by_test_id("case-state")).to_have_attribute("data-state", "paused")
        page.get_by_test_id("resume-form").locator("button").click()
        expect(page.get_by_test_id("case-state")).to_have_attribute("data-state", "in_review")
        expect(page.get_by_test_id("deadline-notes")).to_contain_text("专家评审")
    page.get_by_test_id("approve-form").locator("button").click()
    # The last approval concludes the whole application at once.
    expect(page.get_by_test_id("case-state")).to_have_attribute(
        "data-state", re.compile("^(approved|concluded)$")
    )


def test_one_window_intake_and_parallel_handling_conclude_the_bundle(site, browser, settings):
    citizen = UserFactory(citizen=True, username="starter", real_name="周创业")
    # The loan and the subsidy are chosen (B06's questions): stage 2 has their reviews.
    application = ready_application(citizen, "B06", {"LOAN": True, "SUBSIDY": True})
    from bundles.services import submission

    submission.application_submit(application=application, actor=citizen)
    clerk = UserFactory(clerk=True, username="clerk1")
    clerk.windows.add(Window.objects.get(code="BUNDLE"))
    UserFactory(reviewer=True, username="jy", unit=Unit.objects.get(code="JYZX"))
    UserFactory(reviewer=True, username="sb", unit=Unit.objects.get(code="SBZX"))

    # The clerk accepts the online application at the one window.
    window = staff(browser, site, "clerk1")
    window.goto(f"{site}/staff/intake/")
    window.locator(f'a:has-text("{application.reference}")').click()
    window.get_by_test_id("accept-form").locator("button").click()
    expect(window.get_by_test_id("application-state")).to_have_attribute("data-state", "accepted")

    # Two units handle their stage-1 cases side by side; 社保中心 pauses for expert review.
    jy, sb = staff(browser, site, "jy"), staff(browser, site, "sb")
    stage_one = list(application.cases.filter(stage=1).select_related("unit"))
    assert {c.unit.code for c in stage_one} == {"JYZX", "SBZX"}
    for case in stage_one:
        if case.unit.code == "SBZX":
            handle(sb, site, case, pause=True)
        else:
            handle(jy, site, case)

    # Stage 2 opened by itself; 就业中心 finishes it.
    stage_two = list(ItemCase.objects.filter(application=application, stage=2))
    assert stage_two and {c.state for c in stage_two} == {"accepted"}
    for case in stage_two:
        handle(jy, site, case)

    # The citizen sees every item concluded together, without having come in.
    application.refresh_from_db()
    assert application.state == "concluded" and application.visits <= 1
    page = staff(browser, site, "starter")
    page.goto(f"{site}/applications/{application.reference}/")
    expect(page.get_by_test_id("application-state")).to_have_text("已办结")
    for case in application.cases.select_related("item"):
        expect(page.get_by_test_id("cases")).to_contain_text(case.item.name_zh)
    assert set(application.cases.values_list("state", flat=True)) == {"concluded"}
    assert Application.objects.get(pk=application.pk).concluded_at is not None
