"""告知承诺制 in real browsers: a citizen signs a commitment instead of a proof; the case is
approved and the decision notice downloads (its text holds the reference; the public page
confirms it); the unit's verification finds the commitment false; once the time to answer the
hearing notice is over the head revokes the decision with a repayment order and a bar, and the
citizen's next application offers no commitment."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from pypdf import PdfReader

from bundles.services import applications
from kuaiban.cases.models import Application, CaseState
from kuaiban.commitments.models import CheckState, CommitmentCheck, HearingNotice
from kuaiban.documents.models import DocumentKind, ResultDocument
from kuaiban.documents.services import code_display
from tests.builders import (
    accepted,
    approved,
    case_of,
    clerk_of,
    complete,
    reviewer_of,
    service_item,
    submit,
    upload,
)
from tests.factories import UserFactory

from .conftest import log_in

pytestmark = pytest.mark.browser
DEATH = "M-DEATH"  # 死亡证明: commitment allowed


def test_a_false_commitment_is_found_heard_and_sanctioned(site, browser, tmp_path):
    citizen = UserFactory(citizen=True, username="committer", real_name="钱承诺")
    reviewer_of("SBZX", username="sb-staff")
    reviewer_of("SBZX", head=True, username="sb-head")
    application = applications.application_start(applicant=citizen, item=service_item("SI-009"))

    # The citizen, on a phone, signs the commitment instead of the death certificate.
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(phone, site, "committer")
    phone.goto(f"{site}/applications/{application.reference}/materials/")
    commitment = phone.locator(f"#material-{DEATH} details.commitment")
    commitment.locator("summary").click()
    commitment.locator("input[name=agree]").check()
    commitment.get_by_role("textbox").fill("钱承诺")
    commitment.locator("button[type=submit]").click()
    expect(phone.locator(".messages")).to_be_visible()
    assert application.commitments.filter(material__code=DEATH).exists()

    # The rest of the materials, submission, acceptance and approval through the services.
    application = accepted(submit(complete(application, citizen)), clerk_of("SOCIAL"))
    approved(case_of(application), reviewer_of("SBZX"))
    application.refresh_from_db()
    document = ResultDocument.objects.get(application=application, kind=DocumentKind.APPROVAL)

    # The decision notice downloads; its text names the reference; anyone can check its code.
    phone.goto(f"{site}/applications/{application.reference}/")
    with phone.expect_download() as download:
        phone.get_by_test_id("document-download").first.click()
    text = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(download.value.path().read_bytes())).pages
    )
    assert application.reference in text
    public = browser.new_context().new_page()
    public.goto(f"{site}/verify/{code_display(document.code)}/")
    expect(public.get_by_test_id("verification-result")).not_to_have_attribute(
        "data-revoked", "true"
    )
    expect(public.get_by_test_id("verification-result")).not_to_contain_text("钱承诺")

    # The unit verifies the commitment and finds it false.
    check = CommitmentCheck.objects.get(application=application)
    desk = browser.new_context().new_page()
    log_in(desk, site, "sb-staff")
    desk.goto(f"{site}/staff/commitment-checks/")
    desk.get_by_test_id("commitment-check-row").locator("a").first.click()
    method = desk.get_by_test_id("check-method-form")
    method.locator("select[name=method]").select_option("shared_data")
    method.locator("button[type=submit]").click()
    evidence = tmp_path / "公安比对结果.pdf"
    evidence.write_bytes(upload().read())
    form = desk.get_by_test_id("check-evidence-form")
    form.locator("input[type=file]").set_input_files(str(evidence))
    form.locator("button[type=submit]").click()
    outcome = desk.get_by_test_id("check-outcome-form")
    outcome.locator(f"input[name=finding][value={CheckState.FOUND_FALSE}]").check()
    outcome.locator("textarea[name=outcome_note]").fill("公安数据显示当事人未死亡")
    outcome.locator("[name=legal_basis]").fill("《社会保险法》第八十八条")
    outcome.locator("button[type=submit]").click()
    expect(desk.get_by_test_id("check-state")).to_have_attribute(
        "data-state", CheckState.FOUND_FALSE
    )

    # The citizen is told, with the time to answer.
    phone.goto(f"{site}/applications/{application.reference}/")
    expect(phone.get_by_test_id("hearing-notice")).to_contain_text("公安数据显示当事人未死亡")
    hearing = HearingNotice.objects.get(check_row=check)
    head = browser.new_context().new_page()
    log_in(head, site, "sb-head")  # sets up the authenticator app, within days of the account

    # The time to answer passes unanswered; the head revokes, orders repayment and bars.
    with time_machine.travel(hearing.respond_by + timedelta(days=1), tick=True):
        log_in(head, site, "sb-head")  # days later: the staff session has ended
        head.goto(f"{site}/staff/commitment-checks/{check.pk}/")
        decide = head.get_by_test_id("hearing-decide-form")
        decide.locator("input[name=outcome][value=sanctioned]").check()
        decide.locator("textarea[name=reason]").fill("承诺不实，未在期限内陈述申辩")
        decide.locator("[name=repayment_amount]").fill("48000")
        decide.locator("[name=repayment_due]").fill("2027-03-31")
        decide.locator("[name=bar_months]").fill("36")
        decide.locator("button[type=submit]").click()
        expect(head.get_by_test_id("repayment")).to_contain_text("48")

        case = case_of(Application.objects.get(pk=application.pk))
        assert case.state == CaseState.REVOKED
        assert ResultDocument.objects.filter(revokes=document).count() == 1
        public.goto(f"{site}/verify/{code_display(document.code)}/")
        expect(public.get_by_test_id("verification-result")).to_have_attribute(
            "data-revoked", "true"
        )

        # The next application offers the proof only, and says why.
        again = applications.application_start(applicant=citizen, item=service_item("SI-009"))
        phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        log_in(phone, site, "committer")
        phone.goto(f"{site}/applications/{again.reference}/materials/")
        expect(phone.get_by_test_id("commitment-barred").first).to_be_visible()
        expect(phone.locator("details.commitment")).to_have_count(0)
        assert re.search(
            r"\d{4}-\d{2}-\d{2}", phone.get_by_test_id("commitment-barred").first.inner_text()
        )
