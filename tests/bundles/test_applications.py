"""Drafts (bundles/services/applications.py): the one form and its result delivery; what is
valid is kept as the draft, every error is reported at once."""

import pytest
from django.core.exceptions import ValidationError

from bundles.selectors import required_form_fields
from bundles.services import applications
from kuaiban.cases.models import Application
from tests.builders import draft, valid_value

pytestmark = pytest.mark.django_db


def test_the_valid_answers_are_kept_as_a_draft_when_the_delivery_is_invalid(citizen):
    application = draft(citizen, "B10")
    data = {f.code: valid_value(f) for f in required_form_fields(application)}
    with pytest.raises(ValidationError) as refused:
        applications.application_save_form(
            application=application, actor=citizen, data=data, delivery="mail", address=" "
        )
    assert set(refused.value.message_dict) == {"delivery_address"}
    application.refresh_from_db()
    assert application.form_data.keys() == data.keys()
    assert application.delivery == Application.Delivery.DOWNLOAD  # the invalid one not taken

    applications.application_save_form(
        application=application,
        actor=citizen,
        data=data,
        delivery="mail",
        address="扬州市示例路1号",
    )
    application.refresh_from_db()
    assert application.form_data.keys() == data.keys()
    assert (application.delivery, application.delivery_address) == ("mail", "扬州市示例路1号")


def test_every_error_of_a_bad_form_and_a_bad_delivery_is_reported_at_once(citizen):
    application = draft(citizen, "B10")
    fields = required_form_fields(application)
    required = next(f for f in fields if f.required)
    data = {f.code: valid_value(f) for f in fields} | {required.code: ""}
    with pytest.raises(ValidationError) as refused:
        applications.application_save_form(
            application=application, actor=citizen, data=data, delivery="by pigeon"
        )
    assert set(refused.value.message_dict) == {required.code, "delivery"}
