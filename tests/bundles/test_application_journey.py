"""The applicant's journey through the server: one set of materials, one submission."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kuaiban.cases.models import (
    Application,
    ApplicationMaterial,
    CaseEvent,
    ItemCase,
    StoredFile,
)
from kuaiban.catalog.models import Bundle, FormField, Material
from tests.builders import on_record, review_submit, upload, valid_value

pytestmark = pytest.mark.django_db

# The applicant ticks the consent to the shared data being fetched (rule SHARED-CONSENT).
CONSENT = {"consent": "on"}


@pytest.fixture(autouse=True)
def _citizen_on_record(citizen):
    """The citizen's shared-data materials are on record at the (LOCAL) sources."""
    on_record(citizen)


def start(client, code="B07", key=None):
    key = key or uuid.uuid4()
    response = client.post(f"/apply/bundles/{code}/", {"start_key": str(key)})
    assert response.status_code == 302
    return Application.objects.get(submission_key=key)


def answer_all(client, application, value="no"):
    data = {q.code: value for q in application.bundle.questions.all()}
    response = client.post(f"/applications/{application.reference}/questions/", data)
    application.refresh_from_db()
    return response


def provide_everything(client, application):
    """Upload a PDF for every material still needing one (commitments where upload is odd)."""
    from bundles.selectors import required_materials

    for entry in required_materials(application):
        if entry.needs_action:
            response = client.post(
                f"/applications/{application.reference}/materials/",
                {"action": "upload", "material": entry.material.code, "file": upload()},
            )
            assert response.status_code == 302


def fill_form(client, application, **overrides):
    from bundles.selectors import required_form_fields

    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    data.update({"delivery": "download", **overrides})
    return client.post(f"/applications/{application.reference}/form/", data)


def upload_first_needed(client, application, file, **post):
    """Upload `file` for the first material the application still needs; (entry, response)."""
    from bundles.selectors import required_materials

    entry = next(r for r in required_materials(application) if r.needs_action)
    response = client.post(
        f"/applications/{application.reference}/materials/",
        {"action": "upload", "material": entry.material.code, "file": file},
        **post,
    )
    return entry, response


def test_a_double_click_on_apply_opens_one_draft(client, citizen):
    client.force_login(citizen)
    key = uuid.uuid4()
    first = start(client, key=key)
    second = start(client, key=key)
    assert first.pk == second.pk
    assert Application.objects.filter(applicant=citizen).count() == 1


def test_a_material_needed_by_several_items_is_asked_for_and_stored_once(client, citizen):
    client.force_login(citizen)
    application = start(client, "B08")
    answer_all(client, application, "yes")
    from bundles.selectors import required_materials

    required = required_materials(application)
    death = next(r for r in required if "死亡" in r.material.name_zh)
    assert len(death.items) >= 3
    assert sum(1 for r in required if r.material.pk == death.material.pk) == 1
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert page.count(f'data-material="{death.material.code}"') == 1
    client.post(
        f"/applications/{application.reference}/materials/",
        {"action": "upload", "material": death.material.code, "file": upload("death.pdf")},
    )
    assert StoredFile.objects.filter(owner=citizen, material=death.material).count() == 1
    assert ApplicationMaterial.objects.filter(application=application).count() == 1


def test_shared_data_materials_are_not_asked_for(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    identity = Material.objects.get(code="M-ID")
    assert identity.shared_data
    assert "无需提交" in page


def test_an_exe_renamed_pdf_is_refused(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    _entry, response = upload_first_needed(
        client, application, upload("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100), follow=True
    )
    assert "只能上传 PDF、JPEG 或 PNG" in response.content.decode()
    assert not StoredFile.objects.exists()


def test_the_whole_journey_ends_with_a_reference_and_item_cases(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    assert fill_form(client, application).status_code == 302
    provide_everything(client, application)
    response = review_submit(client, application, CONSENT)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/applications/{application.reference}/done/")
    done = client.get(response["Location"]).content.decode()
    assert application.reference in done
    application.refresh_from_db()
    assert application.state == "submitted"
    cases = list(application.cases.all())
    assert cases and {c.state for c in cases} <= {"submitted", "waiting"}
    status = client.get(f"/applications/{application.reference}/").content.decode()
    for case in cases:
        assert case.item.name_zh in status


def test_a_second_identical_submit_creates_nothing_new(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    fill_form(client, application)
    provide_everything(client, application)
    review_submit(client, application, CONSENT)
    cases, events = ItemCase.objects.count(), CaseEvent.objects.count()
    again = review_submit(client, application, CONSENT)
    assert again.status_code == 302  # back to the status page, no error
    assert ItemCase.objects.count() == cases
    assert CaseEvent.objects.count() == events
    assert Application.objects.count() == 1


def test_submitting_with_something_missing_names_what_is_missing(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    response = review_submit(client, application, follow=True)
    page = response.content.decode()
    assert "请提供" in page or "请填写申请表" in page
    application.refresh_from_db()
    assert application.state == "draft"


def test_another_citizen_gets_404_on_the_application_and_its_files(client, citizen, other_citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    upload_first_needed(client, application, upload())
    stored = StoredFile.objects.get()
    assert client.get(f"/files/{stored.pk}/").status_code == 200
    client.force_login(other_citizen)
    for url in [
        f"/applications/{application.reference}/",
        f"/applications/{application.reference}/materials/",
        f"/applications/{application.reference}/review/",
        f"/files/{stored.pk}/",
    ]:
        assert client.get(url).status_code == 404, url


def test_the_download_is_an_attachment_of_the_sniffed_type(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    upload_first_needed(client, application, upload("../../etc/x.pdf"))
    stored = StoredFile.objects.get()
    assert ".." not in stored.storage_name and "/etc/" not in stored.storage_name
    response = client.get(f"/files/{stored.pk}/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")


def test_a_citizen_can_reuse_an_earlier_upload(client, citizen):
    client.force_login(citizen)
    first = start(client)
    answer_all(client, first)
    entry, _response = upload_first_needed(client, first, upload("mine.pdf"))
    second = start(client)
    answer_all(client, second)
    page = client.get(f"/applications/{second.reference}/materials/").content.decode()
    assert "mine.pdf" in page
    stored = StoredFile.objects.get()
    client.post(
        f"/applications/{second.reference}/materials/",
        {"action": "reuse", "material": entry.material.code, "file_id": stored.pk},
    )
    provided = ApplicationMaterial.objects.get(application=second, material=entry.material)
    assert provided.file == stored and provided.reused
    assert StoredFile.objects.count() == 1


def test_a_commitment_replaces_a_proof_and_is_recorded(client, citizen):
    client.force_login(citizen)
    application = start(client, "B09")
    answer_all(client, application, "yes")
    from bundles.selectors import required_materials

    entry = next(r for r in required_materials(application) if r.material.commitment_allowed)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert "告知承诺" in page
    client.post(
        f"/applications/{application.reference}/materials/",
        {
            "action": "commit",
            "material": entry.material.code,
            "agree": "on",
            "signed_name": "王小明",
        },
    )
    commitment = application.commitments.get()
    assert commitment.material == entry.material
    assert commitment.verification == "pending"
    assert (
        ApplicationMaterial.objects.get(application=application, material=entry.material).provision
        == "commitment"
    )


def test_the_applications_list_issues_the_same_queries_for_1_and_50(client, citizen):
    client.force_login(citizen)
    start(client)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/applications/").status_code == 200
        return len(queries)

    one = count()
    bundle = Bundle.objects.get(code="B10")
    for _ in range(49):
        start(client, bundle.code)
    assert count() == one


def test_a_citizen_withdraws_a_submitted_application(client, citizen):
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    fill_form(client, application)
    provide_everything(client, application)
    review_submit(client, application, CONSENT)
    client.post(
        f"/applications/{application.reference}/withdraw/", {"reason": "不再需要", "confirm": "on"}
    )
    application.refresh_from_db()
    assert application.state == "withdrawn"
    assert set(application.cases.values_list("state", flat=True)) == {"withdrawn"}


def test_a_single_item_application_uses_the_same_machinery(client, citizen):
    client.force_login(citizen)
    from kuaiban.catalog.models import SpeedUpEntry

    item = SpeedUpEntry.objects.get(number=17).items.get()  # 就业困难人员认定
    key = uuid.uuid4()
    response = client.post(f"/apply/items/{item.code}/", {"start_key": str(key)})
    application = Application.objects.get(submission_key=key)
    assert response["Location"].endswith(f"/applications/{application.reference}/form/")
    fill_form(client, application)
    provide_everything(client, application)
    review_submit(client, application, CONSENT)
    application.refresh_from_db()
    assert application.state == "submitted"
    assert [(c.item_id, c.stage, c.state) for c in application.cases.all()] == [
        (item.pk, 1, "submitted")
    ]


def test_an_oversized_upload_is_refused_and_nothing_is_kept(client, citizen, settings):
    settings.KUAIBAN_UPLOAD_MAX_BYTES = 1024
    client.force_login(citizen)
    application = start(client)
    answer_all(client, application)
    _entry, response = upload_first_needed(
        client, application, upload("big.pdf", b"%PDF-" + b"0" * 2048), follow=True
    )
    assert response.status_code == 200
    assert not StoredFile.objects.exists()


@pytest.mark.parametrize(
    ("code", "who"),
    [("B01", "citizen"), ("B02", "citizen"), ("B03", "enterprise"), ("B08", "enterprise")],
)
def test_rule_an_account_applies_only_for_bundles_of_its_applicant_type(
    client, citizen, enterprise, code, who
):
    """A citizen cannot start an enterprise's bundle (B01 hiring) nor an enterprise a person's
    (B03 unemployment, B08 a family's work-death benefits): the start page says who applies,
    offers no button, and a forged POST opens nothing."""
    client.force_login(citizen if who == "citizen" else enterprise)
    page = client.get(f"/apply/bundles/{code}/")
    assert page.status_code == 403
    text = page.content.decode()
    assert 'data-testid="refusal"' in text and 'name="start_key"' not in text
    assert Bundle.objects.get(code=code).get_applicant_display() in text
    forged = client.post(f"/apply/bundles/{code}/", {"start_key": str(uuid.uuid4())})
    assert forged.status_code == 403
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("code", "who"),
    [
        ("B01", "enterprise"),
        ("B05", "enterprise"),
        ("B07", "enterprise"),
        ("B07", "citizen"),
        ("B09", "citizen"),
    ],
)
def test_an_account_starts_the_bundles_of_its_applicant_type(
    client, citizen, enterprise, code, who
):
    client.force_login(citizen if who == "citizen" else enterprise)
    assert 'name="start_key"' in client.get(f"/apply/bundles/{code}/").content.decode()
    key = uuid.uuid4()
    assert client.post(f"/apply/bundles/{code}/", {"start_key": str(key)}).status_code == 302
    assert Application.objects.filter(submission_key=key, bundle__code=code).exists()


def test_an_over_long_answer_is_refused_next_to_its_field_and_the_rest_is_kept(client, citizen):
    from bundles.selectors import required_form_fields

    client.force_login(citizen)  # B03 unemployment: a citizen's own application
    application = start(client, "B03")
    answer_all(client, application, "yes")
    fields = required_form_fields(application)
    # Typed answers only: the citizen's identity answers the fields about them (read-only).
    typed = [f for f in fields if f.prefill == FormField.Prefill.NONE]
    text = next(f for f in typed if f.kind == "text")
    others = {f.code: valid_value(f) for f in typed if f.code != text.code}
    too_long = "长" * (text.answer_max_length + 1)

    response = client.post(
        f"/applications/{application.reference}/form/",
        others | {text.code: too_long, "delivery": "download"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == [text.code]
    assert str(text.answer_max_length) in form.errors[text.code][0]
    assert all(form.data[code] == value for code, value in others.items())
    page = response.content.decode()
    assert f'maxlength="{text.answer_max_length}"' in page
    assert all(f'value="{value}"' in page for value in others.values() if value != "yes")
    application.refresh_from_db()
    # The other answers are saved as a draft; the refused one is not.
    assert text.code not in application.form_data
    assert set(application.form_data) == {code for code, value in others.items() if value}
