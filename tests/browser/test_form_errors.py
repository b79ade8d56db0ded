"""Errors where they happen, in a real browser on a phone (issue 16, part 2): the one form sent
with one bad and one good answer shows the error summary, focused, with a link to the bad
field; the good answer is kept as a draft across a reload."""

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory, generated_resident_id

from .conftest import log_in

pytestmark = pytest.mark.browser

VALUES = {
    "date": "2026-11-02",
    "month": "2026-11",
    "number": "3",
    "resident_id": generated_resident_id(birth="19880315"),
    "phone": "13912345678",
    "bank_account": "6222020200112233445",
    "text": "示例",
    "long_text": "示例说明",
}


def test_a_bad_answer_is_summarised_and_focused_and_the_good_ones_are_kept(site, browser):
    UserFactory(enterprise=True, username="hiring-co")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in(page, site, "hiring-co")
    page.goto(f"{site}/apply/items/SI-002/")
    page.get_by_role("button", name="开始申请").click()
    form_url = page.url
    assert form_url.endswith("/form/")
    for element in page.locator("[data-kind]").all():
        kind = element.get_attribute("data-kind")
        if kind == "choice":
            element.select_option(index=1)
        elif kind == "yes_no":
            element.locator("input[value=yes]").check()
        else:
            element.fill(VALUES[kind])
    page.fill("input[name=employee_name]", "王示例")  # good
    page.fill("input[name=monthly_wage]", "八千五")  # bad: not a number
    page.check("input[name=delivery][value=download]")
    page.click("button.primary")

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    link = summary.locator('a[href="#id_monthly_wage"]')
    expect(link).to_have_count(1)
    link.click()
    expect(page.locator("#id_monthly_wage")).to_be_focused()

    page.goto(form_url)  # a fresh visit: what was valid was saved as the draft
    expect(page.locator("input[name=employee_name]")).to_have_value("王示例")
    expect(page.locator("input[name=monthly_wage]")).to_have_value("")
    expect(page.get_by_test_id("error-summary")).to_have_count(0)

    # Corrected as people write amounts: accepted, on to the materials.
    page.fill("input[name=monthly_wage]", "8,500")
    page.check("input[name=delivery][value=download]")
    page.click("button.primary")
    expect(page).to_have_url(form_url.replace("/form/", "/materials/"))
    context.close()
