"""The applicant's journey in a real browser (issue: apply online with one set of materials)."""

import re

import pytest
from playwright.sync_api import expect

from kuaiban.cases.models import Application, ApplicationMaterial
from tests.builders import on_record
from tests.factories import UserFactory, generated_resident_id

from .conftest import log_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def fill_the_one_form(page):
    """Fill every catalog field by its kind, then choose download for the results."""
    values = {
        "date": "2026-11-02",
        "month": "2026-11",
        "number": "3",
        "resident_id": generated_resident_id(birth="19660315"),
        "phone": "13912345678",
        "bank_account": "6222020200112233445",
        "text": "示例",
        "long_text": "示例说明",
    }
    for element in page.locator("[data-kind]").all():
        kind = element.get_attribute("data-kind")
        if element.is_disabled():  # filled in from the applicant's real-name identity
            continue
        if kind == "choice":
            element.select_option(index=1)
        elif kind == "yes_no":
            element.locator("input[value=yes]").check()
        else:
            element.fill(values[kind])
    page.check("input[name=delivery][value=download]")
    page.click("button.primary")


def answer(page, answers):
    for code, value in answers.items():
        page.check(f"input[name={code}][value={value}]")
    page.click("button.primary")


def commit(page, material_code, real_name):
    entry = page.locator(f"[data-material={material_code}]")
    entry.locator("summary").click()
    expect(entry.locator(".notice")).to_contain_text("承诺")
    entry.locator("input[name=agree]").check()
    entry.locator("input[name=signed_name]").fill(real_name)
    entry.get_by_role("button", name="签署承诺").click()
    expect(page.locator(f"[data-material={material_code}] [data-testid=provided]")).to_be_visible()


def upload(page, material_code, name, content, mime):
    entry = page.locator(f"[data-material={material_code}]")
    entry.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )
    entry.locator("form.upload button").click()
    expect(page.locator(f"[data-material={material_code}] [data-testid=provided]")).to_contain_text(
        name
    )


def submit_and_check_status(page, user):
    page.get_by_role("link", name="继续：核对并提交").click()
    if page.get_by_test_id("shared-data-consent").count():
        page.check("input[name=consent]")  # the shared data fetched for the applicant
    page.get_by_test_id("submit").click()
    expect(page.locator("h1")).to_have_text("申请已提交")
    reference = page.get_by_test_id("reference").inner_text().strip()
    assert re.fullmatch(r"KB\d{8}[0-9A-Z]{6}", reference)
    page.get_by_role("link", name="查看办理进度").click()
    expect(page.get_by_test_id("application-state")).to_have_text("已提交，等待受理")
    application = Application.objects.get(reference=reference, applicant=user)
    for case in application.cases.select_related("item"):
        expect(page.get_by_test_id("cases")).to_contain_text(case.item.name_zh)
    expect(page.get_by_test_id("timeline")).to_contain_text("已提交")
    return application


def test_a_citizen_applies_for_retirement_on_a_phone(site, browser):
    citizen = UserFactory(citizen=True, username="retiree", real_name="李建国")
    on_record(citizen)  # in the population register, insured
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in(page, site, "retiree")
    page.goto(f"{site}/guide/bundles/B07/")
    page.get_by_test_id("apply").click()
    page.get_by_role("button", name="开始申请").click()
    answer(page, {"SPECIAL": "no", "HPF": "no"})
    fill_the_one_form(page)
    # One deduplicated list: shared data is not asked for, the personnel file is a paper original.
    expect(page.locator("[data-material=M-ID]")).to_contain_text("无需提交")
    expect(page.locator("[data-material=M-PHOTO]")).to_have_count(1)
    commit(page, "M-WORKHISTORY", "李建国")
    upload(page, "M-PHOTO", "photo.jpg", JPEG, "image/jpeg")
    application = submit_and_check_status(page, citizen)
    assert application.bundle.code == "B07"
    assert application.commitments.get().material.code == "M-WORKHISTORY"
    assert (
        ApplicationMaterial.objects.filter(application=application, provision="upload").count() == 1
    )
    context.close()


def test_an_enterprise_applies_for_hiring(site, page):
    enterprise = UserFactory(enterprise=True, username="employer", real_name="扬州示例制造有限公司")
    log_in(page, site, "employer")
    page.goto(f"{site}/guide/bundles/B01/")
    page.get_by_test_id("apply").click()
    page.get_by_role("button", name="开始申请").click()
    answer(page, {"HAS_FILE": "no", "HAS_CARD": "no"})
    fill_the_one_form(page)
    # The labour contract is needed by two items but asked for once.
    contract = page.locator("[data-material=M-CONTRACT]")
    expect(contract).to_have_count(1)
    expect(contract).to_contain_text("职工医保参保登记")
    expect(contract).to_contain_text("职工参保登记")
    upload(page, "M-CONTRACT", "contract.pdf", PDF, "application/pdf")
    upload(page, "M-PHOTO", "photo.jpg", JPEG, "image/jpeg")
    commit(page, "M-DIPLOMA", "扬州示例制造有限公司")
    application = submit_and_check_status(page, enterprise)
    assert application.bundle.code == "B01"
    assert application.materials.filter(material__code="M-CONTRACT").count() == 1
