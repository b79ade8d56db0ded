"""A supervisor follows a figure to a case (issue 16 part 8): the overdue list and the cases
behind a figure link to a read-only case page with its clock and its history; a district's
supervisor sees their district's cases only, and the view is in the access log."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kuaiban.cases.models import AccessLog, ItemCase
from kuaiban.catalog.models import District, ServiceHall
from tests.builders import accepted, case_of, clerk_of, single_item_submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue_case():
    hall = ServiceHall.objects.filter(district__isnull=False).first()
    case = case_of(accepted(single_item_submitted("LR-002"), clerk_of("LABOUR"), hall=hall))
    ItemCase.objects.filter(pk=case.pk).update(
        committed_due_at=datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    return case


def test_the_overdue_list_links_to_the_case_page(client, overdue_case):
    supervisor = UserFactory(supervisor=True)
    client.force_login(supervisor)
    listing = client.get("/supervision/overdue/").content.decode()
    link = f'href="/supervision/cases/{overdue_case.pk}/" data-testid="case-link"'
    assert link in listing and 'data-testid="overdue-explained"' in listing
    page = client.get(f"/supervision/cases/{overdue_case.pk}/")
    assert page.status_code == 200
    assert 'data-testid="supervision-timeline"' in page.content.decode()
    assert page.context["left"].overdue
    assert AccessLog.objects.filter(user=supervisor, object_id=str(overdue_case.pk)).exists()


def test_a_district_supervisor_sees_only_their_district_s_cases(client, overdue_case):
    own = overdue_case.application.hall.district
    client.force_login(UserFactory(supervisor=True, district=own))
    assert client.get(f"/supervision/cases/{overdue_case.pk}/").status_code == 200
    other = District.objects.exclude(pk=own.pk).first()
    client.force_login(UserFactory(supervisor=True, district=other))
    assert client.get(f"/supervision/cases/{overdue_case.pk}/").status_code == 404
