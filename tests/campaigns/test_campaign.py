"""The campaign as data (考评验收, issue 14 parts 1–2): the 2020 campaign seeded from the plan,
launched into one filing per responsible unit on the working calendar, reminded and flagged by
the sweep, filed by the unit (self-assessment and docking plan), accepted or returned by 局行风办,
late or missing filings on the programme page, and a copy for a later year."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kuaiban.campaigns import services
from kuaiban.campaigns.models import Campaign, CampaignEvent, PhaseTask, UnitTask
from kuaiban.campaigns.selectors import campaign_progress
from kuaiban.catalog.models import Bundle
from kuaiban.notifications.models import Notification
from speedup.services.campaign_sweep import campaign_tasks_sweep
from tests.builders import reviewer_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
UNITS = {"SBZX", "JYZX", "RCZX", "XXZX", "GSBX", "LDGX", "SYDW", "GZFL", "LDNL"}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def office():
    return UserFactory(supervisor=True)


@pytest.fixture
def launched(office):
    campaign = Campaign.objects.get(code="KB2020")
    with time_machine.travel(at(2020, 8, 3, 9), tick=False):
        services.campaign_launch(campaign=campaign, actor=office)
    return campaign


def _docking(unit_code: str) -> UnitTask:
    return UnitTask.objects.get(task__code="DOCKING", unit__code=unit_code)


def test_the_plans_campaign_is_seeded_with_its_five_phases_and_dated_tasks():
    campaign = Campaign.objects.get(code="KB2020")
    phases = list(campaign.phases.values_list("order", "starts_on", "ends_on"))
    assert phases == [
        (1, date(2020, 8, 1), date(2020, 8, 31)),
        (2, date(2020, 9, 1), date(2020, 9, 30)),
        (3, date(2020, 10, 1), date(2020, 11, 30)),
        (4, date(2020, 12, 1), date(2020, 12, 31)),
        (5, date(2021, 1, 1), None),
    ]
    docking = PhaseTask.objects.get(phase__campaign=campaign, code="DOCKING")
    assert docking.due_on == date(2020, 8, 15)
    assert set(docking.units.values_list("code", flat=True)) == UNITS


def test_rule_task_due_a_due_date_on_a_day_off_moves_to_the_next_working_day(launched):
    task = _docking("SBZX")
    # 15 August 2020 was a Saturday: due at the close of Monday the 17th, reminded three
    # working days before (Wednesday the 12th).
    assert task.due_at.astimezone(SH).date() == date(2020, 8, 17)
    assert task.remind_at.astimezone(SH).date() == date(2020, 8, 12)
    assert task.next_flag_at == task.remind_at


def test_launching_gives_each_responsible_unit_one_filing_per_task_once(launched, office):
    assert UnitTask.objects.count() == 4 * len(UNITS)
    assert services.campaign_launch(campaign=launched, actor=office) == 0
    for outsider in (reviewer_of("SBZX"), UserFactory(supervisor=True, district=_district())):
        with pytest.raises(PermissionDenied):
            services.campaign_launch(campaign=launched, actor=outsider)


def _fill(task: UnitTask, actor, *, complete=True):
    lines = [
        {
            "bundle": line.bundle,
            "speedup": line.speedup,
            "measures": "流程再造，材料精简" if complete else "",
            "responsible": "张科长",
            "target_date": date(2020, 9, 30),
            "can_be_instant": False,
        }
        for line in services.lines_prefilled(task)
    ]
    return services.unit_task_save(unit_task=task, actor=actor, text="已完成自查", lines=lines)


def test_rule_a_docking_plan_filed_late_is_flagged_once_and_shown_behind(launched, office):
    task = _docking("SBZX")
    reviewer = reviewer_of("SBZX")
    with time_machine.travel(at(2020, 8, 12, 18), tick=False):
        assert campaign_tasks_sweep()["remind"] == len(UNITS)
    with time_machine.travel(at(2020, 8, 17, 18), tick=False):
        assert campaign_tasks_sweep()["overdue"] == len(UNITS) * 1
        assert campaign_tasks_sweep()["overdue"] == 0  # once
    task.refresh_from_db()
    assert task.overdue_at is not None and task.next_flag_at is None
    assert Notification.objects.filter(recipient=reviewer).count() == 2  # reminder, overdue
    assert Notification.objects.filter(recipient=office).count() == 1  # overdue only
    with time_machine.travel(at(2020, 8, 19, 10), tick=False):
        _fill(task, reviewer)
        services.unit_task_submit(unit_task=task, actor=reviewer)
        task.refresh_from_db()
        assert task.state == "submitted" and task.submitted_late
        progress = campaign_progress(launched, at(2020, 8, 19, 10))
    assert task in progress.behind  # filed late
    docking = next(t for p in progress.phases for t in p.tasks if t.task.code == "DOCKING")
    assert (docking.units, docking.filed, docking.late) == (len(UNITS), 1, len(UNITS))
    actions = list(CampaignEvent.objects.filter(unit_task=task).values_list("action", flat=True))
    assert actions == ["remind", "overdue", "save", "submit"]


def test_a_filing_lists_everything_missing_at_once_and_keeps_what_was_written(launched):
    task = _docking("JYZX")
    reviewer = reviewer_of("JYZX")
    bundles = set(Bundle.objects.filter(lead_unit__code="JYZX").values_list("code", flat=True))
    assert bundles, "JYZX leads at least one bundle"
    lines = services.lines_prefilled(task)
    assert {line.bundle.code for line in lines if line.bundle} == bundles
    assert any(line.speedup for line in lines)
    _fill(task, reviewer, complete=False)
    with pytest.raises(ValidationError) as refused:
        services.unit_task_submit(unit_task=task, actor=reviewer)
    assert len(refused.value.messages) == len(lines)  # one per incomplete line, all at once
    task.refresh_from_db()
    assert task.text == "已完成自查" and task.state == "open"
    with pytest.raises(PermissionDenied):
        services.unit_task_save(unit_task=task, actor=reviewer_of("SBZX"), text="x", lines=[])


def test_the_office_returns_with_comments_and_accepts_the_corrected_filing(launched, office):
    task = _docking("XXZX")
    reviewer = reviewer_of("XXZX")
    with time_machine.travel(at(2020, 8, 10, 10), tick=False):
        _fill(task, reviewer)
        services.unit_task_submit(unit_task=task, actor=reviewer)
        with pytest.raises(ValidationError):
            services.unit_task_review(unit_task=task, actor=office, accept=False, comments=" ")
        with pytest.raises(PermissionDenied):
            services.unit_task_review(
                unit_task=task,
                actor=UserFactory(supervisor=True, district=_district()),
                accept=True,
            )
        services.unit_task_review(
            unit_task=task, actor=office, accept=False, comments="补充即办件改造计划"
        )
        task.refresh_from_db()
        assert task.state == "returned" and task.is_editable
        assert task.next_flag_at == task.remind_at  # the clock runs again
        assert Notification.objects.filter(recipient=reviewer, body="补充即办件改造计划").exists()
        services.unit_task_submit(unit_task=task, actor=reviewer)
        services.unit_task_review(unit_task=task, actor=office, accept=True)
    task.refresh_from_db()
    assert task.state == "accepted" and not task.submitted_late and task.next_flag_at is None
    with pytest.raises(ValidationError):
        services.unit_task_save(unit_task=task, actor=reviewer, text="改", lines=[])


def _district():
    from kuaiban.catalog.models import District

    return District.objects.first()


def test_a_campaign_is_copied_to_a_new_year_with_its_phases_and_tasks(office):
    source = Campaign.objects.get(code="KB2020")
    copy = services.campaign_copy(source=source, code="KB2027", year=2027, actor=office)
    assert (copy.starts_on, copy.ends_on, copy.launched_at) == (
        date(2027, 8, 1),
        date(2027, 12, 31),
        None,
    )
    assert "2027" in copy.name_zh
    docking = PhaseTask.objects.get(phase__campaign=copy, code="DOCKING")
    assert docking.due_on == date(2027, 8, 15)
    assert set(docking.units.values_list("code", flat=True)) == UNITS
    assert copy.phases.get(order=5).ends_on is None
    with pytest.raises(ValidationError):
        services.campaign_copy(source=source, code="KB2027", year=2028, actor=office)


def test_the_unit_files_on_its_page_and_the_office_sees_and_accepts_it(client, launched, office):
    task = _docking("LDGX")
    reviewer = reviewer_of("LDGX")
    client.force_login(reviewer)
    listing = client.get("/staff/campaign-tasks/").content.decode()
    assert f'data-task="{task.pk}"' in listing and 'data-behind="1"' in listing  # 2020: late
    url = f"/staff/campaign-tasks/{task.pk}/"
    page = client.get(url).content.decode()
    lines = services.lines_prefilled(task)
    assert page.count('data-testid="docking-line"') == len(lines) > 0
    data = {"text": "劳动关系处自查报告", "file": "1"}
    for i, _line in enumerate(lines):
        data |= {
            f"line-{i}-measures": "网上办理，即时办结",
            f"line-{i}-responsible": "李处长",
            f"line-{i}-target_date": "2020-09-30",
        }
    data["line-0-target_date"] = ""  # one missing: saved, not filed, and said so
    client.post(url, data, follow=True)
    task.refresh_from_db()
    assert task.state == "open" and task.text == "劳动关系处自查报告"
    page = client.get(url).content.decode()
    assert 'data-testid="filing-problems"' in page and "李处长" in page
    assert 'value="2020-09-30"' in page  # a saved date shows as the date picker reads it
    data["line-0-target_date"] = "2020-09-30"
    client.post(url, data, follow=True)
    task.refresh_from_db()
    assert task.state == "submitted" and task.submitted_late  # filed in 2026
    client.force_login(office)
    board = client.get("/supervision/campaigns/KB2020/").content.decode()
    assert f'href="/supervision/filings/{task.pk}/"' in board
    assert 'data-testid="filings-behind"' in board
    programme = client.get("/supervision/").content.decode()
    assert f'data-task="{task.pk}"' in programme
    filing = client.get(f"/supervision/filings/{task.pk}/").content.decode()
    assert 'data-testid="review-form"' in filing and "网上办理，即时办结" in filing
    client.post(f"/supervision/filings/{task.pk}/review/", {"decision": "accept"})
    task.refresh_from_db()
    assert task.state == "accepted"


def test_a_calendar_edit_moves_the_filings_still_to_come(launched):
    from kuaiban.workdays.models import CalendarDay
    from kuaiban.workdays.services import CalendarChange, calendar_edited

    # Monday 17 August 2020 closed (a typhoon): the docking plans fall due on Tuesday the 18th.
    day, _created = CalendarDay.objects.get_or_create(
        date=date(2020, 8, 17), defaults={"kind": CalendarDay.Kind.CLOSURE}
    )
    day.kind = CalendarDay.Kind.CLOSURE
    day.save()
    assert calendar_edited(CalendarChange(days=frozenset({day.date}), background=False))
    task = _docking("GSBX")
    assert task.due_at.astimezone(SH).date() == date(2020, 8, 18)
    self_assessment = UnitTask.objects.get(task__code="SELF", unit__code="GSBX")
    assert self_assessment.due_at.astimezone(SH).date() == date(2020, 8, 31)  # untouched


def test_a_campaign_launched_after_its_due_dates_flags_overdue_without_a_reminder(office):
    campaign = Campaign.objects.get(code="KB2020")
    with time_machine.travel(at(2020, 9, 1, 9), tick=False):
        services.campaign_launch(campaign=campaign, actor=office)
        marked = campaign_tasks_sweep()
    assert (marked["remind"], marked["overdue"]) == (0, 2 * len(UNITS))  # docking, self
    task = _docking("SBZX")
    assert task.reminded_at is not None and task.overdue_at is not None
    actions = set(CampaignEvent.objects.filter(unit_task=task).values_list("action", flat=True))
    assert actions == {"overdue"}
