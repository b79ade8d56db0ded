"""In-person intake (bundles/services/window.py): what the clerk records in one sitting is one
service call in one transaction that keeps every valid part."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from bundles.selectors import required_form_fields, required_materials
from bundles.services import applications, materials, window
from kuaiban.catalog.models import Bundle
from tests.builders import clerk_of, upload, valid_value
from tests.factories import generated_phone

pytestmark = pytest.mark.django_db


def _opened(citizen, code="B10"):
    clerk = clerk_of("BUNDLE")
    application = window.window_intake_start(
        clerk=clerk,
        resident_id=citizen.resident_id,
        real_name=citizen.real_name,
        phone=generated_phone(),
        bundle=Bundle.objects.get(code=code),
    )
    applications.application_answer_questions(
        application=application,
        actor=clerk,
        answers={q.code: False for q in application.bundle.questions.all()},
    )
    application.refresh_from_db()
    return application, clerk


def test_one_sitting_keeps_the_valid_parts_and_reports_the_rest(citizen):
    application, clerk = _opened(citizen)
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    first, *others = window.materials_to_record(application)
    not_a_document = SimpleUploadedFile("x.pdf", b"hello", content_type="application/pdf")
    result = window.window_intake_record(
        application=application,
        actor=clerk,
        form_data=data,
        delivery="pickup",
        materials=[
            window.MaterialHandedOver(first, scan=not_a_document),
            *(window.MaterialHandedOver(m, seen=True) for m in others),
        ],
    )
    assert not result.ok and result.material_errors.keys() == {first.code}
    assert result.problems  # the first material is still missing
    application.refresh_from_db()
    assert application.state == "draft" and application.form_data.keys() == data.keys()
    assert {m.material.code for m in application.materials.all()} == {m.code for m in others}

    result = window.window_intake_record(
        application=application,
        actor=clerk,
        form_data=data,
        delivery="pickup",
        materials=[window.MaterialHandedOver(first, scan=upload())],
    )
    assert result.ok
    application.refresh_from_db()
    assert application.state == "accepted"


def test_a_commitment_counts_only_when_the_applicant_agreed_to_the_notice(citizen):
    application, clerk = _opened(citizen, "B09")
    entry = next(e for e in required_materials(application) if e.material.commitment_allowed)
    with pytest.raises(ValidationError, match="同意"):
        materials.material_commit(
            application=application,
            actor=clerk,
            material=entry.material,
            signed_name=citizen.real_name,
            agreed=False,
        )
    assert not application.commitments.exists()
    materials.material_commit(
        application=application,
        actor=clerk,
        material=entry.material,
        signed_name=citizen.real_name,
        agreed=True,
    )
    assert application.commitments.get().material == entry.material
