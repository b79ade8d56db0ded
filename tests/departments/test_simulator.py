"""The demo's department simulator, over real HTTP against a live portal."""

import pytest
from django.core.management import call_command

from kuaiban.cases.models import ApplicationState, CaseState
from kuaiban.departments.models import DepartmentClient
from tests.builders import approved, reviewer_of

from .conftest import b03_at_the_department


@pytest.mark.usefixtures("committed_db")
def test_the_simulator_approves_the_departments_case_over_the_api(live_server):
    """Rule: `simulate_departments --once` takes a fresh credential for every external unit and,
    over HTTP with the real API, accepts and approves its cases: B03 then concludes once the
    bureau's own stage-2 case is approved."""
    application = b03_at_the_department()
    ex = application.cases.get(item__code="EX-002")

    call_command("simulate_departments", "--once", "--base-url", live_server.url)

    ex.refresh_from_db()
    assert ex.state == CaseState.APPROVED
    assert (
        ex.reviewer_id
        == DepartmentClient.objects.get(
            unit__code="EXT-YB", revoked_at__isnull=True
        ).service_account_id
    )
    for other in application.cases.filter(stage=2, state=CaseState.ACCEPTED):
        approved(other, reviewer_of(other.unit.code))
    application.refresh_from_db()
    assert application.state == ApplicationState.CONCLUDED
