"""The acceptance evaluation (考评验收, issue 14 part 4): 局行风办 evaluates a bundle for a period
— operation figures equal to the dashboard's, on-site inspections against the checklist,
service experiences — and records findings for a unit with a rectification date; the unit
closes them with evidence; one not closed in time is flagged once."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.evaluation import operation_figures
from kuaiban.campaigns import evaluations
from kuaiban.campaigns.models import Campaign, CampaignEvent, ChecklistItem
from kuaiban.catalog.models import Bundle, ServiceHall, SpeedUpEntry, Unit
from kuaiban.notifications.models import Notification
from speedup.services.campaign_sweep import campaign_tasks_sweep
from tests.builders import accepted, clerk_of, reviewer_of, submitted, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 2, 10, tzinfo=SH)


@pytest.fixture
def office():
    return UserFactory(supervisor=True)


def _evaluation(office, **subject):
    return evaluations.evaluation_open(
        campaign=Campaign.objects.get(code="KB2020"),
        actor=office,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        **(subject or {"bundle": Bundle.objects.get(code="B07")}),
    )


def test_the_operation_evaluation_equals_the_dashboard_for_the_same_subject_and_period(office):
    with time_machine.travel(MONDAY, tick=False):
        for _ in range(2):
            accepted(submitted("B07"), clerk_of("BUNDLE"))
        accepted(submitted("B10"), clerk_of("BUNDLE"))
    rollup_refresh(full=True)
    evaluation = _evaluation(office)
    (figures,) = operation_figures(evaluation)
    board = dashboard(
        {"bundle": evaluation.bundle.pk}, Period(date(2026, 11, 1), date(2026, 11, 30))
    )
    assert figures.board.values == board.values
    assert figures.value("accepted") == board.values["accepted"] > 0
    entry = SpeedUpEntry.objects.filter(items__isnull=False).first()
    per_item = operation_figures(_evaluation(office, speedup=entry))
    assert [f.subject for f in per_item] == list(entry.items.order_by("code"))


def test_only_the_office_evaluates_and_a_subject_is_a_bundle_or_an_item(office):
    with pytest.raises(PermissionDenied):
        _evaluation(reviewer_of("SBZX"))
    with pytest.raises(ValidationError):
        evaluations.evaluation_open(
            campaign=Campaign.objects.get(code="KB2020"),
            actor=office,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
        )


def test_an_inspection_records_every_checklist_point_met_or_not(office):
    evaluation = _evaluation(office)
    codes = list(ChecklistItem.objects.values_list("code", flat=True))
    assert len(codes) >= 5
    inspection = evaluations.inspection_record(
        evaluation=evaluation,
        actor=office,
        hall=ServiceHall.objects.get(code="HALL-CITY"),
        window=None,
        met=codes[1:],
        note="一件事窗口未设置",
    )
    assert inspection.answers == {code: code != codes[0] for code in codes}
    experience = evaluations.experience_record(
        evaluation=evaluation,
        actor=office,
        channel="window",
        steps="取号、受理、领证",
        minutes_taken=25,
        visits=1,
    )
    assert experience.visits == 1


def test_rule_a_finding_is_due_on_the_working_calendar_closed_with_evidence_flagged_once(office):
    evaluation = _evaluation(office)
    unit = Unit.objects.get(code="SBZX")
    reviewer = reviewer_of("SBZX")
    with time_machine.travel(datetime(2026, 12, 1, 10, tzinfo=SH), tick=False):
        with pytest.raises(ValidationError):  # a date already passed
            evaluations.finding_record(
                evaluation=evaluation,
                actor=office,
                source="on_site",
                text="x",
                unit=unit,
                rectify_by=date(2026, 11, 30),
            )
        finding = evaluations.finding_record(
            evaluation=evaluation,
            actor=office,
            source="on_site",
            text="一件事窗口未设置",
            unit=unit,
            rectify_by=date(2026, 12, 5),  # a Saturday: due at the close of Monday the 7th
        )
    assert finding.due_at.astimezone(SH).date() == date(2026, 12, 7)
    assert Notification.objects.filter(recipient=reviewer, body="一件事窗口未设置").exists()
    with time_machine.travel(datetime(2026, 12, 7, 18, tzinfo=SH), tick=False):
        assert campaign_tasks_sweep()["finding_overdue"] == 1
        assert campaign_tasks_sweep()["finding_overdue"] == 0
    with pytest.raises(PermissionDenied):
        evaluations.finding_close(
            finding=finding, actor=reviewer_of("JYZX"), rectification="x", upload=upload()
        )
    with pytest.raises(ValidationError) as missing:
        evaluations.finding_close(finding=finding, actor=reviewer, rectification="", upload=None)
    assert len(missing.value.messages) == 2  # both said at once
    with time_machine.travel(datetime(2026, 12, 8, 9, tzinfo=SH), tick=False):
        evaluations.finding_close(
            finding=finding, actor=reviewer, rectification="已设综合窗口", upload=upload()
        )
    finding.refresh_from_db()
    assert finding.state == "closed" and finding.evidence is not None and finding.closed_late
    assert list(CampaignEvent.objects.filter(finding=finding).values_list("action", flat=True)) == [
        "finding",
        "finding_overdue",
        "rectified",
    ]


def test_the_office_records_a_finding_on_the_page_and_the_unit_closes_it_at_its_desk(
    client, office
):
    evaluation = _evaluation(office)
    client.force_login(office)
    page = client.get(f"/supervision/evaluations/{evaluation.pk}/").content.decode()
    assert 'data-testid="operation-row"' in page and 'data-testid="finding-form"' in page
    rectify_by = (timezone.localdate() + timedelta(days=14)).isoformat()
    client.post(
        f"/supervision/evaluations/{evaluation.pk}/finding/",
        {
            "source": "experience",
            "text": "网上申报页面材料说明不清",
            "unit": Unit.objects.get(code="JYZX").pk,
            "rectify_by": rectify_by,
        },
    )
    finding = evaluation.findings.get()
    reviewer = reviewer_of("JYZX")
    client.force_login(reviewer)
    listing = client.get("/staff/findings/").content.decode()
    assert f'data-finding="{finding.pk}"' in listing
    client.post(
        f"/staff/findings/{finding.pk}/close/",
        {"rectification": "已更新说明", "evidence": upload("proof.pdf")},
    )
    finding.refresh_from_db()
    assert finding.state == "closed"
    evidence = client.get(f"/staff/findings/{finding.pk}/evidence/")
    assert evidence.status_code == 200 and b"".join(evidence.streaming_content).startswith(b"%PDF")
    client.force_login(office)
    page = client.get(f"/supervision/evaluations/{evaluation.pk}/").content.decode()
    assert f'data-finding="{finding.pk}" data-state="closed"' in page
