"""Enterprises and institutions served in person at the window
(bundles/services/window_enterprise.py): identified by credit code and name, the agent (经办人)
by ID card; the application is the organisation's."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from bundles.services import window
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import Application
from kuaiban.catalog.models import Bundle
from tests.builders import clerk_of
from tests.factories import (
    UserFactory,
    generated_credit_code,
    generated_phone,
    generated_resident_id,
)

pytestmark = pytest.mark.django_db


def _start(clerk, code="B01", **overrides):
    values = {
        "resident_id": generated_resident_id(),
        "real_name": "赵经办",
        "phone": generated_phone(),
        "credit_code": generated_credit_code(),
        "organisation_name": "扬州测试机械有限公司",
    } | overrides
    return window.window_intake_start(
        clerk=clerk, bundle=Bundle.objects.get(code=code), start_key=uuid.uuid4(), **values
    )


def test_window_enterprise_a_new_enterprise_gets_a_window_only_record_and_the_agent_is_kept():
    clerk = clerk_of("BUNDLE")
    code, agent = generated_credit_code(), generated_resident_id()

    application = _start(clerk, credit_code=code.lower(), resident_id=agent)

    organisation = application.applicant
    assert (organisation.role, organisation.credit_code) == (Role.ENTERPRISE, code)
    assert organisation.window_only and not organisation.has_usable_password()
    assert application.channel == Application.Channel.WINDOW
    assert (application.agent_name, application.agent_resident_id) == ("赵经办", agent)
    assert application.visits == 1


def test_window_enterprise_a_verified_enterprise_is_found_by_its_credit_code():
    clerk = clerk_of("BUNDLE")
    enterprise = UserFactory(enterprise=True, real_name="扬州已注册有限公司")

    application = _start(
        clerk, credit_code=enterprise.credit_code, organisation_name="扬州已注册有限公司"
    )

    assert application.applicant == enterprise
    assert User.objects.filter(role=Role.ENTERPRISE).count() == 1


def test_window_enterprise_a_wrong_check_character_or_name_is_refused():
    clerk = clerk_of("BUNDLE")
    enterprise = UserFactory(enterprise=True)
    code = generated_credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")

    with pytest.raises(ValidationError) as raised:
        _start(clerk, credit_code=wrong)
    assert "credit_code" in raised.value.message_dict

    with pytest.raises(ValidationError) as raised:
        _start(clerk, credit_code=enterprise.credit_code, organisation_name="别的公司")
    assert "organisation_name" in raised.value.message_dict
    assert not Application.objects.exists()


def test_window_enterprise_an_enterprise_cannot_take_a_persons_bundle_nor_a_person_b01():
    clerk = clerk_of("BUNDLE")

    with pytest.raises(ValidationError) as raised:
        _start(clerk, code="B10")
    assert "service" in raised.value.message_dict

    with pytest.raises(ValidationError) as raised:
        _start(clerk, credit_code="", organisation_name="")
    assert "service" in raised.value.message_dict
