"""Errors where they happen (issue 16, part 2), on the applicant's pages: an upload's error next
to the material it concerns and naming it, the limits stated before any upload, the error
summary linking to the fields, a form saved as a draft in part, and the applicant's own check
page showing what they typed."""

import re
import uuid

import pytest

from bundles.selectors import required_form_fields, required_materials
from kuaiban.cases.models import Application, StoredFile
from kuaiban.catalog.models import FormField
from tests.builders import (
    draft,
    on_record,
    service_item,
    upload,
    valid_value,
)
from tests.factories import generated_resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _citizen_on_record(citizen):
    on_record(citizen)


def started(client, code="B07") -> Application:
    key = uuid.uuid4()
    assert client.post(f"/apply/bundles/{code}/", {"start_key": str(key)}).status_code == 302
    application = Application.objects.get(submission_key=key)
    data = {q.code: "no" for q in application.bundle.questions.all()}
    client.post(f"/applications/{application.reference}/questions/", data)
    application.refresh_from_db()
    return application


def material_section(page: str, code: str) -> str:
    """The material's own part of the materials page (its <li>)."""
    found = re.search(rf'<li class="material-entry[^"]*" id="material-{code}".*?</li>', page, re.S)
    assert found, code
    return found.group(0)


def described_by(section: str) -> list[str]:
    found = re.search(r'<input type="file"[^>]*aria-describedby="([^"]*)"', section)
    assert found
    return found.group(1).split()


def first_needed(application):
    return next(r for r in required_materials(application) if r.needs_action)


# -- materials ----------------------------------------------------------------------------------


def test_the_limits_are_stated_next_to_each_upload_control_before_any_upload(
    client, citizen, settings
):
    settings.KUAIBAN_UPLOAD_MAX_BYTES = 7 * 1024 * 1024  # read from the settings, not the page
    client.force_login(citizen)
    application = started(client)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    offered = [r for r in required_materials(application) if r.upload_offered]
    assert offered
    for entry in offered:
        section = material_section(page, entry.material.code)
        limits = re.search(r'<p[^>]*id="limits-[^"]*"[^>]*>(.*?)</p>', section, re.S)
        assert limits and "7 MB" in limits.group(1)
        assert all(t in limits.group(1) for t in ("PDF", "JPEG", "PNG"))
        assert f"limits-{entry.material.code}" in described_by(section)
        assert 'accept="application/pdf,image/jpeg,image/png"' in section


def test_an_upload_error_is_shown_next_to_the_material_it_concerns_naming_it(client, citizen):
    client.force_login(citizen)
    application = started(client)
    entry = first_needed(application)
    code = entry.material.code
    response = client.post(
        f"/applications/{application.reference}/materials/",
        {"action": "upload", "material": code, "file": upload("x.pdf", b"MZ\x90" + b"\0" * 64)},
    )
    assert response.status_code == 302  # post/redirect/get
    page = client.get(response.url).content.decode()
    section = material_section(page, code)
    error = re.search(r'<p class="error-message" id="([^"]+)"[^>]*>(.*?)</p>', section, re.S)
    assert error, "the error is inside the material's own section"
    assert entry.material.name in error.group(2) and "只能上传 PDF、JPEG 或 PNG" in error.group(2)
    assert error.group(1) in described_by(section)
    assert 'aria-invalid="true"' in section
    # Not above the page as a flash message, and the summary links to the upload control.
    assert '<ul class="messages">' not in page
    assert f'href="#file-{code}"' in page
    # Shown once: the next visit is clean.
    again = client.get(response.url).content.decode()
    assert 'class="error-message"' not in again
    assert not StoredFile.objects.exists()


def test_an_oversized_file_stopped_while_streaming_names_its_material(client, citizen, settings):
    settings.KUAIBAN_UPLOAD_MAX_BYTES = 1024
    client.force_login(citizen)
    application = started(client)
    entry = first_needed(application)
    response = client.post(
        f"/applications/{application.reference}/materials/",
        {
            "action": "upload",
            "material": entry.material.code,
            "file": upload("big.pdf", b"%PDF-" + b"0" * 4096),
        },
        follow=True,
    )
    section = material_section(response.content.decode(), entry.material.code)
    assert 'data-testid="material-error"' in section
    assert entry.material.name in section and "big.pdf" in section
    assert not StoredFile.objects.exists()


def test_a_missing_file_is_reported_at_its_material(client, citizen):
    client.force_login(citizen)
    application = started(client)
    code = first_needed(application).material.code
    response = client.post(
        f"/applications/{application.reference}/materials/",
        {"action": "upload", "material": code},
        follow=True,
    )
    assert 'data-testid="material-error"' in material_section(response.content.decode(), code)


# -- the form -----------------------------------------------------------------------------------


def hiring(client, enterprise) -> Application:
    key = uuid.uuid4()
    item = service_item("SI-002")
    assert client.post(f"/apply/items/{item.code}/", {"start_key": str(key)}).status_code == 302
    return Application.objects.get(submission_key=key)


def test_the_form_keeps_the_good_answers_and_the_summary_links_to_the_bad(client, enterprise):
    client.force_login(enterprise)
    application = hiring(client, enterprise)
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    data |= {"delivery": "download", "monthly_wage": "很多", "employee_name": "王示例"}
    response = client.post(f"/applications/{application.reference}/form/", data)
    assert response.status_code == 200
    page = response.content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>.*?</div>', page, re.S)
    assert summary
    assert 'role="alert"' in summary.group(0) and 'tabindex="-1"' in summary.group(0)
    assert re.findall(r'href="#([^"]+)"', summary.group(0)) == ["id_monthly_wage"]
    assert 'src="/static/error-summary.js"' in page
    # The field's own error stays next to it.
    assert re.search(r'id="id_monthly_wage".*?class="errorlist', page, re.S)
    application.refresh_from_db()
    assert application.form_data["employee_name"] == "王示例"
    assert "monthly_wage" not in application.form_data


def test_the_form_names_the_other_field_of_a_rule(client, enterprise):
    client.force_login(enterprise)
    application = hiring(client, enterprise)
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    data |= {"delivery": "download", "hire_date": "2026-05-01", "contract_end_date": "2026-04-01"}
    page = client.post(f"/applications/{application.reference}/form/", data).content.decode()
    assert 'href="#id_contract_end_date"' in page
    assert "“入职（就业）日期”" in page


def test_a_month_field_is_a_month_picker_and_an_amount_with_commas_is_accepted(client, enterprise):
    client.force_login(enterprise)
    application = hiring(client, enterprise)
    page = client.get(f"/applications/{application.reference}/form/").content.decode()
    assert re.search(r'<input type="month"[^>]*name="insurance_change_month"', page)
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    data |= {"delivery": "download", "monthly_wage": "8,500", "insurance_change_month": "2026-07"}
    response = client.post(f"/applications/{application.reference}/form/", data)
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.form_data["monthly_wage"] == "8500"
    assert application.form_data["insurance_change_month"] == "2026-07"


def test_the_questions_page_has_the_summary_linking_to_an_unanswered_question(client, citizen):
    client.force_login(citizen)
    key = uuid.uuid4()
    client.post("/apply/bundles/B07/", {"start_key": str(key)})
    application = Application.objects.get(submission_key=key)
    question = application.bundle.questions.first()
    page = client.post(f"/applications/{application.reference}/questions/", {}).content.decode()
    assert 'data-testid="error-summary"' in page
    assert f'href="#id_{question.code}"' in page


# -- check answers -----------------------------------------------------------------------------


def test_the_applicants_check_page_shows_the_numbers_they_typed_and_staff_pages_mask_them(
    client, enterprise
):
    client.force_login(enterprise)
    application = hiring(client, enterprise)
    number = generated_resident_id()
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    client.post(
        f"/applications/{application.reference}/form/",
        data
        | {"delivery": "download", "employee_id_number": number, "employee_phone": "13912345678"},
    )
    page = client.get(f"/applications/{application.reference}/review/").content.decode()
    assert number in page and "13912345678" in page
    # The staff's display of the same answers stays masked.
    from kuaiban.cases.templatetags.kuaiban import form_value

    id_field = FormField.objects.get(code="employee_id_number")
    assert form_value(id_field, number) != number
    assert form_value(id_field, number, unmasked=True) == number


def test_the_check_pages_problems_link_to_where_they_are_put_right(client, citizen):
    client.force_login(citizen)
    application = started(client)
    missing = first_needed(application).material.code
    page = client.get(f"/applications/{application.reference}/review/").content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*>.*?</div>', page, re.S)
    assert summary
    links = re.findall(r'href="([^"]+)"', summary.group(0))
    assert f"/applications/{application.reference}/materials/#material-{missing}" in links
    assert any(
        link.startswith(f"/applications/{application.reference}/form/#id_") for link in links
    )


# -- withdrawal ---------------------------------------------------------------------------------


def test_an_unconfirmed_withdrawal_shows_the_summary_and_keeps_the_reason(client, citizen):
    application = draft(citizen, "B07")
    client.force_login(citizen)
    response = client.post(f"/applications/{application.reference}/withdraw/", {"reason": "搬家了"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_confirm"' in page and "搬家了" in page
    application.refresh_from_db()
    assert application.state == "draft"
