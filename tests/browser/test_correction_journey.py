"""A return followed by a guided correction (issue 16 part 3), in real browsers: the clerk at a
desk returns an application naming two materials, the citizen on a phone corrects one and
explains the other, and the application is back in the clerk's queue at its place."""

import pytest
from playwright.sync_api import expect

from bundles.services import submission
from kuaiban.catalog.models import Material, Window
from tests.builders import ready_application, submitted
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def queue_order(page, site) -> list[str]:
    page.goto(f"{site}/staff/intake/")
    return [
        row.get_attribute("data-reference") or "" for row in page.get_by_test_id("intake-row").all()
    ]


def test_a_return_is_corrected_item_by_item_and_keeps_its_place_in_the_queue(site, browser):
    citizen = UserFactory(citizen=True, username="retiree", real_name="李建国")
    application = ready_application(citizen, "B07")
    submission.application_submit(application=application, actor=citizen)
    # Someone else submits at the same window after the citizen.
    later = submitted("B10")
    photo = Material.objects.get(code="M-PHOTO")
    history = Material.objects.get(code="M-WORKHISTORY")
    clerk = UserFactory(clerk=True, username="clerk1")
    clerk.windows.add(Window.objects.get(code="BUNDLE"))

    # The clerk returns it, naming the photo and the work history, with a note.
    window = browser.new_context().new_page()
    log_in(window, site, "clerk1")
    assert queue_order(window, site) == [application.reference, later.reference]
    window.locator(f'a:has-text("{application.reference}")').click()
    form = window.get_by_test_id("return-form")
    form.get_by_label(photo.name_zh).check()
    form.get_by_label(history.name_zh).check()
    form.locator("textarea[name=note]").fill("照片不清晰；工作经历缺2001年的记录")
    form.locator("button").click()
    expect(window.get_by_test_id("application-state")).to_have_attribute("data-state", "returned")
    assert queue_order(window, site) == [later.reference]

    # The citizen, on a phone, opens the application: both materials are marked.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    log_in(phone, site, "retiree")
    phone.goto(f"{site}/applications/{application.reference}/review/")
    corrections = phone.get_by_test_id("return-corrections")
    expect(corrections).to_contain_text("照片不清晰；工作经历缺2001年的记录")
    for material in (photo, history):
        marked = corrections.locator(f"[data-returned={material.code}]")
        expect(marked.get_by_test_id("needs-correction")).to_be_visible()
    # Resubmitting without a change is not offered: the page names each material to correct.
    expect(phone.get_by_test_id("submit")).to_have_count(0)
    for material in (photo, history):
        expect(phone.get_by_role("alert").filter(has_text=material.name_zh)).to_have_count(1)

    # The summary links to the photo on the materials page; a new photo is uploaded there.
    corrections.get_by_role("link", name=photo.name_zh).click()
    assert phone.url.endswith(f"/materials/#material-{photo.code}")
    entry = phone.locator(f"[data-material={photo.code}]")
    expect(entry.get_by_test_id("needs-correction")).to_be_visible()
    entry.locator("form.upload input[type=file]").set_input_files(
        files=[{"name": "photo-new.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    entry.locator("form.upload button").click()
    entry = phone.locator(f"[data-material={photo.code}]")
    expect(entry.get_by_test_id("corrected")).to_be_visible()
    expect(entry.get_by_test_id("provided")).to_contain_text("photo-new.jpg")

    # The work history stays as it is, with the reason why.
    entry = phone.locator(f"[data-material={history.code}]")
    entry.locator("details.return-answer summary").click()
    entry.locator("textarea[name=explanation]").fill("2001年在外地务工，原单位已注销，无法补充")
    entry.get_by_test_id("explain-form").locator("button").click()
    entry = phone.locator(f"[data-material={history.code}]")
    expect(entry.get_by_test_id("explained")).to_be_visible()
    expect(entry.get_by_test_id("explanation")).to_contain_text("原单位已注销")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, "the materials page scrolls sideways on a phone"

    # Now it can be resubmitted.
    phone.goto(f"{site}/applications/{application.reference}/review/")
    if phone.get_by_test_id("shared-data-consent").count():
        phone.check("input[name=consent]")
    phone.get_by_test_id("submit").click()
    expect(phone.get_by_test_id("reference")).to_have_text(application.reference)
    application.refresh_from_db()
    assert application.state == "submitted"

    # Back in the clerk's queue before the one submitted after it; the page says what changed.
    assert queue_order(window, site) == [application.reference, later.reference]
    window.locator(f'a:has-text("{application.reference}")').click()
    section = window.get_by_test_id("return-corrections")
    expect(section.locator(f"[data-returned={photo.code}]")).to_have_attribute(
        "data-changed", "yes"
    )
    expect(section.locator(f"[data-returned={history.code}]")).to_contain_text("原单位已注销")
