"""The departments' tests share an unemployment bundle (B03) taken to its second stage, where
EX-002 (医保局, EXT-YB) waits for the department, and department clients issued through the
services."""

import pytest

from kuaiban.cases.models import CaseState
from kuaiban.catalog.models import Unit
from kuaiban.departments.services import client_issue
from tests.builders import accepted, approved, clerk_of, reviewer_of, submitted


def b03_at_the_department():
    """B03 submitted by a citizen, accepted at the 一窗通办 window and its first stage
    approved by the units' reviewers: EX-002 (EXT-YB) and SI-004 are open."""
    application = accepted(submitted("B03"), clerk_of("BUNDLE"))
    for case in application.cases.filter(stage=1):
        approved(case, reviewer_of(case.unit.code))
    return application


def open_case(application, item_code):
    case = application.cases.get(item__code=item_code)
    assert case.state == CaseState.ACCEPTED
    return case


def bearer(credential: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {credential}"}


@pytest.fixture
def issue():
    """issue("EXT-YB", webhook_url=…) → Issued (its credential, its webhook secret)."""

    def make(code: str, **kwargs):
        return client_issue(unit=Unit.objects.get(code=code), **kwargs)

    return make
