"""Scores and circulated notices (通报) of the campaign (issue 14, part 5): the score follows the
rubric on a constructed history, with the bonus and the accountability list; a notice drafted
from the figures lists the findings, is numbered when issued and can no longer be edited."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from acceptance.selectors.common import Period
from acceptance.selectors.scores import unit_scores
from kuaiban.campaigns import evaluations, notices, services
from kuaiban.campaigns.models import Campaign, Notice, UnitTask
from kuaiban.catalog.models import Bundle, Unit
from tests.builders import reviewer_of, upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def office():
    return UserFactory(supervisor=True)


def _file(task: UnitTask, reviewer) -> None:
    lines = [
        {
            "bundle": line.bundle,
            "speedup": line.speedup,
            "measures": "流程再造",
            "responsible": "王科长",
            "target_date": date(2020, 9, 30),
        }
        for line in services.lines_prefilled(task)
    ]
    services.unit_task_save(unit_task=task, actor=reviewer, text="已自查", lines=lines)
    services.unit_task_submit(unit_task=task, actor=reviewer)


def _history(office):
    """2020: 劳动关系处 files everything on time; 社保中心 files its docking plan on time and
    nothing else, and rectifies its finding in time; 就业中心 leaves its finding open."""
    campaign = Campaign.objects.get(code="KB2020")
    with time_machine.travel(at(2020, 8, 3, 9), tick=False):
        services.campaign_launch(campaign=campaign, actor=office)
        evaluation = evaluations.evaluation_open(
            campaign=campaign,
            actor=office,
            period_start=date(2020, 8, 1),
            period_end=date(2020, 12, 31),
            bundle=Bundle.objects.get(code="B07"),
        )
        findings = {
            code: evaluations.finding_record(
                evaluation=evaluation,
                actor=office,
                source="on_site",
                text=f"{code}窗口未公示承诺时限",
                unit=Unit.objects.get(code=code),
                rectify_by=date(2020, 8, 20),
            )
            for code in ("SBZX", "JYZX")
        }
    ldgx, sbzx = reviewer_of("LDGX"), reviewer_of("SBZX")
    with time_machine.travel(at(2020, 8, 10, 10), tick=False):
        for task in UnitTask.objects.filter(unit__code="LDGX"):
            _file(task, ldgx)
        _file(UnitTask.objects.get(unit__code="SBZX", task__code="DOCKING"), sbzx)
        evaluations.finding_close(
            finding=findings["SBZX"], actor=sbzx, rectification="已公示", upload=upload()
        )
    return campaign


def test_rule_the_score_follows_the_rubric_with_bonus_and_accountability(office):
    campaign = _history(office)
    period = Period(date(2020, 8, 1), date(2020, 12, 31))
    scores = {s.unit.code: s for s in unit_scores(campaign, period, timezone.now())}
    # Rubric: filings on time 30, findings rectified on time 30, cases on time 25,
    # satisfaction 15; no case in 2020, so the last two count in full.
    ldgx = scores["LDGX"]
    assert [c.points for c in ldgx.criteria] == [30, 30, 25, 15]
    assert (ldgx.score, ldgx.bonus, ldgx.total, ldgx.accountable) == (100, 5, 105, False)
    sbzx = scores["SBZX"]
    assert [(c.part, c.whole) for c in sbzx.criteria[:2]] == [(1, 4), (1, 1)]
    assert (sbzx.score, sbzx.bonus) == (7.5 + 30 + 25 + 15, 0)
    assert sbzx.accountable and sbzx.reasons == ["missing_filings"]
    jyzx = scores["JYZX"]
    assert jyzx.score == 0 + 0 + 25 + 15
    assert set(jyzx.reasons) == {"missing_filings", "overdue_findings", "low_score"}
    assert next(iter(scores)) == "LDGX"  # best first


def test_an_issued_notice_is_numbered_and_can_no_longer_be_edited(client, office):
    campaign = _history(office)
    client.force_login(office)
    client.post(
        "/supervision/notices/draft/",
        {"campaign": campaign.pk, "period_start": "2020-08-01", "period_end": "2020-12-31"},
    )
    notice = Notice.objects.get()
    assert notice.state == "draft" and notice.number is None
    assert "JYZX窗口未公示承诺时限" in notice.body and "尚未整改到位" in notice.body
    assert "劳动关系处：100.0分（加5分）" in notice.body
    client.post(
        f"/supervision/notices/{notice.pk}/edit/",
        {"title": notice.title, "body": notice.body + "\n请各单位认真整改。"},
    )
    client.post(f"/supervision/notices/{notice.pk}/issue/")
    notice.refresh_from_db()
    year = timezone.localdate().year
    assert (notice.state, notice.year, notice.number) == ("issued", year, 1)
    assert notice.reference == f"快办通报〔{year}〕1号" and notice.body.endswith("认真整改。")
    with pytest.raises(ValidationError):
        notices.notice_edit(notice=notice, actor=office, title="改", body="改")
    client.post(f"/supervision/notices/{notice.pk}/edit/", {"title": "改", "body": "改"})
    notice.refresh_from_db()
    assert notice.title != "改"
    page = client.get(f"/supervision/notices/{notice.pk}/").content.decode()
    assert 'data-testid="notice" data-state="issued" data-number="1"' in page
    assert 'data-testid="notice-edit-form"' not in page
    workbook = client.get(f"/supervision/notices/{notice.pk}/xlsx")
    rows = [
        r[0]
        for r in openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows(
            values_only=True
        )
    ]
    assert rows[0] == notice.reference and rows[1] == notice.title
    assert "请各单位认真整改。" in rows
    second = notices.notice_draft(
        campaign=campaign,
        actor=office,
        period_start=date(2020, 9, 1),
        period_end=date(2020, 9, 30),
        title="九月通报",
        body="……",
    )
    assert notices.notice_issue(notice=second, actor=office).number == 2
    scores_page = client.get(f"/supervision/campaigns/{campaign.code}/scores/").content.decode()
    assert 'data-unit="LDGX" data-score="100.0" data-bonus="5" data-accountable="0"' in scores_page
    assert 'data-unit="JYZX"' in scores_page.split('data-testid="accountable"')[1]
