"""The screens of 告知承诺制's afterlife: the unit's queue and check page (method, evidence,
outcome), the applicant's hearing notice on the status page, the head's decision, and the
supervisors' figures (equal to direct counts, a constant number of queries)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kuaiban.cases.models import CaseState
from kuaiban.catalog.models import ServiceHall
from kuaiban.commitments.models import CheckState, CommitmentBar, CommitmentCheck, HearingState
from kuaiban.commitments.selectors import check_figures
from kuaiban.commitments.services import check_conclude
from tests.builders import (
    TUESDAY_10AM,
    accepted,
    approved,
    case_of,
    clerk_of,
    committed_draft,
    decided_with_commitment,
    reviewer_of,
    submit,
    upload,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_queue_lists_the_units_open_checks_only(client):
    with time_machine.travel(TUESDAY_10AM, tick=False):
        check = CommitmentCheck.objects.get(application=decided_with_commitment())
    client.force_login(reviewer_of("SBZX"))
    page = client.get("/staff/commitment-checks/").content.decode()
    assert f'data-check="{check.pk}"' in page
    client.force_login(reviewer_of("JYZX"))
    page = client.get("/staff/commitment-checks/").content.decode()
    assert 'data-testid="commitment-check-row"' not in page
    assert client.get(f"/staff/commitment-checks/{check.pk}/").status_code == 404


def test_the_whole_journey_through_the_pages(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with time_machine.travel(TUESDAY_10AM, tick=False):
        application = decided_with_commitment()
    check = CommitmentCheck.objects.get(application=application)
    base = f"/staff/commitment-checks/{check.pk}/"
    reviewer, head = reviewer_of("SBZX"), reviewer_of("SBZX", head=True)
    client.force_login(reviewer)
    client.post(base + "method/", {"method": "on_site", "method_note": "入户"})
    client.post(base + "evidence/", {"file": upload()})
    client.post(
        base + "outcome/",
        {"finding": "found_false", "outcome_note": "不实", "legal_basis": "社会保险法第八十八条"},
    )
    check.refresh_from_db()
    assert (check.state, check.method, check.owner) == (CheckState.FOUND_FALSE, "on_site", reviewer)
    assert check.evidence is not None
    download = client.get(base + "evidence/file/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    page = client.get(base).content.decode()
    assert 'data-testid="hearing" data-state="sent"' in page
    assert 'data-testid="hearing-decide-form"' not in page  # not the head, and not yet time

    client.force_login(application.applicant)
    status = client.get(f"/applications/{application.reference}/").content.decode()
    assert (
        'data-testid="hearing-notice"' in status and 'data-testid="hearing-answer-form"' in status
    )
    hearing = check.hearing
    client.post(
        f"/applications/{application.reference}/hearings/{hearing.pk}/answer/",
        {"response": "我有证明"},
    )
    hearing.refresh_from_db()
    assert (hearing.state, hearing.response) == (HearingState.RESPONDED, "我有证明")

    client.force_login(head)
    assert 'data-testid="hearing-decide-form"' in client.get(base).content.decode()
    client.post(
        base + "decide/",
        {
            "outcome": "sanctioned",
            "reason": "承诺不实",
            "repayment_amount": "800.00",
            "repayment_due": "2026-12-31",
            "bar_months": "24",
        },
    )
    assert application.cases.get().state == CaseState.REVOKED
    order = check.repayments.get()
    queue = client.get("/staff/commitment-checks/").content.decode()
    assert f'data-check="{check.pk}"' in queue  # an unpaid repayment keeps it in the queue
    bar = CommitmentBar.objects.get(person=application.applicant)
    assert f'data-bar="{bar.pk}"' in queue
    client.post(base + f"repayments/{order.pk}/paid/")
    order.refresh_from_db()
    assert order.is_paid
    page = client.get(base).content.decode()
    assert 'data-testid="repayment" data-paid="yes"' in page
    assert 'data-testid="bar" data-lifted="no"' in page
    queue = client.get("/staff/commitment-checks/").content.decode()
    assert f'data-check="{check.pk}"' not in queue  # nothing left to do but the bar
    client.post(base + f"bars/{bar.pk}/lift/", {"reason": "复核撤销"})
    bar.refresh_from_db()
    assert bar.lifted_by == head

    client.force_login(application.applicant)
    status = client.get(f"/applications/{application.reference}/").content.decode()
    assert 'data-outcome="sanctioned"' in status and 'data-action="revoke"' in status


def _figures_page(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/supervision/commitment-checks/").content.decode()
    return page, len(queries)


def test_the_figures_equal_direct_counts_in_constant_queries(client):
    supervisor = UserFactory(supervisor=True)
    client.force_login(supervisor)
    with time_machine.travel(TUESDAY_10AM, tick=False):
        first = CommitmentCheck.objects.get(application=decided_with_commitment())
    _page, few = _figures_page(client)
    with time_machine.travel(TUESDAY_10AM, tick=False):
        more = [
            CommitmentCheck.objects.get(application=decided_with_commitment()) for _ in range(3)
        ]
    reviewer = reviewer_of("SBZX")
    check_conclude(check=more[0], actor=reviewer, finding="confirmed", outcome_note="一致")
    check_conclude(
        check=more[1], actor=reviewer, finding="found_false", outcome_note="不实", legal_basis="x"
    )
    late = first.due_at + timedelta(days=1)
    with time_machine.travel(late, tick=False):
        check_conclude(check=first, actor=reviewer, finding="confirmed", outcome_note="迟")
    page, many = _figures_page(client)
    assert many == few
    checks = list(CommitmentCheck.objects.all())
    direct = {
        "opened": len(checks),
        "done_on_time": sum(1 for c in checks if c.concluded_at and c.concluded_at <= c.due_at),
        "done_late": sum(1 for c in checks if c.concluded_at and c.concluded_at > c.due_at),
        "open_overdue": sum(1 for c in checks if c.state == "open" and c.due_at < late),
        "found_false": sum(1 for c in checks if c.state == "found_false"),
    }
    assert direct == {
        "opened": 4,
        "done_on_time": 2,
        "done_late": 1,
        "open_overdue": 1,
        "found_false": 1,
    }
    figures = check_figures(now=late)
    (unit,) = figures["units"]
    for key, value in direct.items():
        assert getattr(unit, key) == value
        assert getattr(figures["materials"][0], key) == value
    shown = check_figures()["units"][0]  # the page's, at this moment
    assert (
        f'data-opened="{shown.opened}" data-on-time="{shown.done_on_time}" '
        f'data-late="{shown.done_late}" data-overdue="{shown.open_overdue}" '
        f'data-false="{shown.found_false}"'
    ) in page


def test_rule_a_district_supervisor_sees_the_figures_of_their_districts_halls_only():
    first = ServiceHall.objects.exclude(district=None).first()
    other = ServiceHall.objects.exclude(district=None).exclude(district=first.district).first()
    halls = [first, other]
    for hall in (halls[0], halls[0], halls[1]):
        application = accepted(submit(committed_draft()), clerk_of("SOCIAL"), hall=hall)
        approved(case_of(application), reviewer_of("SBZX"))
    assert check_figures()["units"][0].opened == 3
    assert check_figures(district_id=halls[0].district_id)["units"][0].opened == 2
    assert check_figures(district_id=halls[1].district_id)["materials"][0].opened == 1
