"""A proactive invitation in a real browser (issue 17, 主动服务): the employer's B02 filing
invites the employee to B03; the employee opens the invitation, finds the form pre-filled and
submits."""

import pytest
from playwright.sync_api import expect

from kuaiban.cases.models import Application
from kuaiban.notifications.models import Notification
from kuaiban.proactive.models import Invitation
from tests.builders import on_record, submitted_with_form
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
VALUES = {
    "date": "2026-11-02",
    "number": "3",
    "phone": "13912345678",
    "bank_account": "6222020200112233445",
    "text": "示例",
    "long_text": "示例说明",
}


def _fill_what_is_empty(page) -> None:
    for element in page.locator("[data-kind]").all():
        kind = element.get_attribute("data-kind")
        if kind == "choice":
            if not element.input_value():
                element.select_option(index=1)
        elif kind == "yes_no":
            element.locator("input[value=yes]").check()
        elif not element.input_value():
            element.fill(VALUES[kind])
    page.check("input[name=delivery][value=download]")
    page.click("button.primary")


def _upload(page, material_code, name, content, mime) -> None:
    entry = page.locator(f"[data-material={material_code}]")
    entry.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )
    entry.locator("form.upload button").click()
    expect(page.locator(f"[data-material={material_code}] [data-testid=provided]")).to_contain_text(
        name
    )


def test_a_citizen_follows_the_B03_invitation_after_the_employers_B02_filing(site, page):
    citizen = UserFactory(citizen=True, username="laid-off", real_name="周建华")
    on_record(citizen)  # in the population register, insured
    employer = UserFactory(enterprise=True, real_name="扬州示例制造有限公司")
    submitted_with_form(
        "B02",
        employer,
        {
            "employee_id_number": citizen.resident_id,
            "employee_name": citizen.real_name,
            "termination_date": "2026-11-20",
        },
    )
    invitation = Invitation.objects.get(user=citizen, rule__code="P-B02-B03")
    message = Notification.objects.get(recipient=citizen, channel="in_app", link__contains="/inv")

    log_in(page, site, "laid-off")
    page.goto(f"{site}{message.link}")
    expect(page.get_by_test_id("invitation")).to_contain_text("失业")
    page.get_by_test_id("start").click()
    page.check("input[name=TRAINING][value=no]")
    page.click("button.primary")
    # What the employer filed is already in the form.
    expect(page.locator("[name=termination_date]")).to_have_value("2026-11-20")
    expect(page.locator("[name=last_employer_name]")).to_have_value("扬州示例制造有限公司")
    _fill_what_is_empty(page)
    # The termination certificate is the employer's filing (shared): only the photo is asked for.
    _upload(page, "M-PHOTO", "photo.jpg", JPEG, "image/jpeg")
    page.get_by_role("link", name="继续：核对并提交").click()
    if page.get_by_test_id("shared-data-consent").count():
        page.check("input[name=consent]")
    page.get_by_test_id("submit").click()
    expect(page.locator("h1")).to_have_text("申请已提交")

    invitation.refresh_from_db()
    application = Application.objects.get(pk=invitation.application_id)
    assert application.bundle.code == "B03" and application.submitted_at is not None
    assert application.form_data["termination_date"] == "2026-11-20"
