"""The campaign's steps, each in one transaction with its `CampaignEvent`: 局行风办 launches a
campaign (one task per responsible unit, on its clock) or copies one to a new year; a unit saves
and files its self-assessment and docking plan; 局行风办 accepts it or returns it with comments.
The reminder and the overdue flag are the sweep's (`speedup.services.campaign_sweep`)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role, User
from kuaiban.bulk_update import values_update
from kuaiban.cases.clocks import EventThreshold, earliest_unfired, moments_of
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notify
from kuaiban.workdays.calendar import calendar_from_db

from .clock import task_plan
from .models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    DockingPlanLine,
    Phase,
    PhaseTask,
    ScoreCriterion,
    TaskKind,
    UnitTask,
    UnitTaskState,
)
from .selectors import docking_subjects

THRESHOLDS = (
    EventThreshold(CampaignAction.REMIND, "remind_at", "reminded_at"),
    EventThreshold(CampaignAction.OVERDUE, "due_at", "overdue_at"),
)
# The clock runs while the unit still has to file (before filing, or after a return).
RUNNING = (UnitTaskState.OPEN, UnitTaskState.RETURNED)


def refresh_next_flag(unit_task: UnitTask) -> None:
    if unit_task.state not in RUNNING:
        unit_task.next_flag_at = None
        return
    unit_task.next_flag_at = earliest_unfired(THRESHOLDS, moments_of(unit_task, THRESHOLDS))


def _event(campaign_id: int, action: str, actor=None, unit_task=None, note: str = "") -> None:
    CampaignEvent.objects.create(
        campaign_id=campaign_id, unit_task=unit_task, action=action, actor=actor, note=note
    )


def require_office(actor) -> None:
    """局行风办 (the city's supervision office) runs the campaign."""
    if not getattr(actor, "is_supervision_office", False):
        raise PermissionDenied


def require_unit_member(unit_task: UnitTask, actor) -> None:
    if getattr(actor, "role", None) != Role.REVIEWER or actor.unit_id != unit_task.unit_id:
        raise PermissionDenied


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor, now=None) -> int:
    """One task per phase task and responsible unit, each on its clock (RULE TASK-DUE). Launching
    again adds only what is missing (a unit added to a task). Returns how many were added."""
    require_office(actor)
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    cal = calendar_from_db()
    existing = set(
        UnitTask.objects.filter(task__phase__campaign=campaign).values_list("task_id", "unit_id")
    )
    added = []
    tasks = PhaseTask.objects.filter(phase__campaign=campaign).prefetch_related("units")
    for task in tasks:
        plan = task_plan(cal, task.due_on, task.remind_days)
        for unit in task.units.all():
            if (task.pk, unit.pk) in existing:
                continue
            row = UnitTask(
                task=task,
                unit=unit,
                due_at=plan.due_at,
                remind_at=plan.remind_at,
                due_provisional=plan.provisional,
            )
            refresh_next_flag(row)
            added.append(row)
    UnitTask.objects.bulk_create(added)
    if campaign.launched_at is None:
        campaign.launched_at, campaign.launched_by = now, actor
        campaign.save(update_fields=["launched_at", "launched_by"])
    _event(campaign.pk, CampaignAction.LAUNCH, actor, note=str(len(added)))
    return len(added)


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@transaction.atomic
def campaign_copy(*, source: Campaign, code: str, year: int, actor) -> Campaign:
    """A new campaign for `year` with the source's phases and tasks, dates moved by the years
    between them, not launched."""
    require_office(actor)
    code = code.strip()
    if not code:
        raise ValidationError({"code": [_("This field is required.")]})
    if Campaign.objects.filter(code=code).exists():
        raise ValidationError({"code": [_("A campaign with this code already exists.")]})
    years = year - source.year
    campaign = Campaign.objects.create(
        code=code,
        year=year,
        name_zh=source.name_zh.replace(str(source.year), str(year)),
        name_en=source.name_en.replace(str(source.year), str(year)),
        starts_on=_shifted(source.starts_on, years),
        ends_on=_shifted(source.ends_on, years),
        targets=source.targets,
        bonus_from=source.bonus_from,
        bonus_points=source.bonus_points,
        accountable_below=source.accountable_below,
    )
    ScoreCriterion.objects.bulk_create(
        ScoreCriterion(
            campaign=campaign,
            kind=c.kind,
            name_zh=c.name_zh,
            name_en=c.name_en,
            points=c.points,
            order=c.order,
        )
        for c in source.criteria.all()
    )
    for phase in source.phases.prefetch_related("tasks__units"):
        copy = Phase.objects.create(
            campaign=campaign,
            order=phase.order,
            name_zh=phase.name_zh,
            name_en=phase.name_en,
            starts_on=_shifted(phase.starts_on, years),
            ends_on=_shifted(phase.ends_on, years) if phase.ends_on else None,
        )
        for task in phase.tasks.all():
            new = PhaseTask.objects.create(
                phase=copy,
                code=task.code,
                name_zh=task.name_zh,
                name_en=task.name_en,
                kind=task.kind,
                due_on=_shifted(task.due_on, years),
                remind_days=task.remind_days,
            )
            new.units.set(task.units.all())
    return campaign


def _lock(unit_task: UnitTask) -> UnitTask:
    return (
        UnitTask.objects.select_for_update(of=("self",))
        .select_related("task__phase__campaign", "unit")
        .get(pk=unit_task.pk)
    )


def lines_prefilled(unit_task: UnitTask) -> list[DockingPlanLine]:
    """The docking plan's lines: those saved, then one empty line for each bundle the unit
    leads and speed-up item it handles that has none yet (not saved here)."""
    lines = list(unit_task.lines.select_related("bundle", "speedup"))
    if unit_task.task.kind != TaskKind.DOCKING_PLAN:
        return lines
    have = {(line.bundle_id, line.speedup_id) for line in lines}
    bundles, speedups = docking_subjects(unit_task.unit)
    for bundle in bundles:
        if (bundle.pk, None) not in have:
            lines.append(DockingPlanLine(unit_task=unit_task, bundle=bundle))
    for entry in speedups:
        if (None, entry.pk) not in have:
            lines.append(DockingPlanLine(unit_task=unit_task, speedup=entry))
    return lines


@transaction.atomic
def unit_task_save(*, unit_task: UnitTask, actor, text: str, lines: list[dict]) -> UnitTask:
    """Keep what the unit wrote (nothing is lost on a later error). `lines`: per line the
    subject (`bundle` or `speedup`, as prefilled) and measures, responsible, target_date,
    can_be_instant."""
    unit_task = _lock(unit_task)
    require_unit_member(unit_task, actor)
    if not unit_task.is_editable:
        raise ValidationError(
            _("This filing is under review or accepted: it can no longer change.")
        )
    unit_task.text = text.strip()
    unit_task.save(update_fields=["text"])
    for values in lines:
        key = {"bundle": values.get("bundle"), "speedup": values.get("speedup")}
        DockingPlanLine.objects.update_or_create(
            unit_task=unit_task,
            bundle=key["bundle"],
            speedup=key["speedup"],
            defaults={
                "measures": (values.get("measures") or "").strip(),
                "responsible": (values.get("responsible") or "").strip(),
                "target_date": values.get("target_date"),
                "can_be_instant": bool(values.get("can_be_instant")),
            },
        )
    _event(unit_task.task.phase.campaign_id, CampaignAction.SAVE, actor, unit_task)
    return unit_task


def filing_problems(unit_task: UnitTask) -> list[str]:
    """What still stops the filing, all at once."""
    problems = []
    if not unit_task.text.strip():
        problems.append(_("Write the self-assessment."))
    if unit_task.task.kind == TaskKind.DOCKING_PLAN:
        for line in lines_prefilled(unit_task):
            if not (line.pk and line.measures and line.responsible and line.target_date):
                problems.append(
                    _(
                        "Docking plan, %(subject)s: give the measures, who is responsible and the "
                        "target date."
                    )
                    % {"subject": line.subject.name}
                )
    return problems


@transaction.atomic
def unit_task_submit(*, unit_task: UnitTask, actor, now=None) -> UnitTask:
    """File the task for review. The first filing after the due time is recorded as late."""
    now = now or timezone.now()
    unit_task = _lock(unit_task)
    require_unit_member(unit_task, actor)
    if not unit_task.is_editable:
        raise ValidationError(
            _("This filing is under review or accepted: it can no longer change.")
        )
    problems = filing_problems(unit_task)
    if problems:
        raise ValidationError(problems)
    if unit_task.first_submitted_at is None:
        unit_task.first_submitted_at = now
        unit_task.submitted_late = now > unit_task.due_at
    unit_task.state = UnitTaskState.SUBMITTED
    refresh_next_flag(unit_task)
    unit_task.save()
    _event(unit_task.task.phase.campaign_id, CampaignAction.SUBMIT, actor, unit_task)
    return unit_task


@transaction.atomic
def unit_task_review(*, unit_task: UnitTask, actor, accept: bool, comments: str = "", now=None):
    """局行风办 accepts the filing, or returns it with comments (the clock runs again)."""
    require_office(actor)
    now = now or timezone.now()
    unit_task = _lock(unit_task)
    if unit_task.state != UnitTaskState.SUBMITTED:
        raise ValidationError(_("Only a filing under review can be accepted or returned."))
    comments = comments.strip()
    if not accept and not comments:
        raise ValidationError(_("Say what has to change."))
    unit_task.review_comments = comments
    if accept:
        unit_task.state, unit_task.accepted_at = UnitTaskState.ACCEPTED, now
    else:
        unit_task.state = UnitTaskState.RETURNED
    refresh_next_flag(unit_task)
    unit_task.save()
    action = CampaignAction.ACCEPT if accept else CampaignAction.RETURN
    _event(unit_task.task.phase.campaign_id, action, actor, unit_task, comments)
    subject = (_("%(task)s: accepted") if accept else _("%(task)s: returned for changes")) % {
        "task": unit_task.task.name
    }
    link = reverse("staff:campaign_task", kwargs={"task_id": unit_task.pk})
    for member in User.objects.filter(
        role=Role.REVIEWER, unit_id=unit_task.unit_id, is_active=True
    ):
        notify(
            recipient=member,
            subject=subject,
            body=comments or subject,
            link=link,
            channels=[Notification.Channel.IN_APP],
        )
    return unit_task


def task_clocks_recompute(*, days=()) -> int:
    """After a calendar change: the filings still to come whose due day or reminder day lies in
    the edited days (every one without `days`) get their times again (RULE TASK-DUE). Flags
    already fired stay fired. Returns how many moved."""
    rows = UnitTask.objects.filter(state__in=RUNNING, overdue_at__isnull=True)
    days = sorted(days)
    fields = ("due_at", "remind_at", "due_provisional")
    moved = []
    with transaction.atomic():
        cal = calendar_from_db()
        for row in rows.select_for_update(of=("self",)).select_related("task").order_by("pk"):
            # A due date's day may move forward over edited days: a changed day between the
            # date the task names and its due time can move it.
            if days and not any(
                row.task.due_on - timedelta(days=31) <= day <= row.due_at.date() for day in days
            ):
                continue
            before = tuple(getattr(row, name) for name in fields)
            plan = task_plan(cal, row.task.due_on, row.task.remind_days)
            row.due_at, row.remind_at, row.due_provisional = (
                plan.due_at,
                plan.remind_at,
                plan.provisional,
            )
            refresh_next_flag(row)
            if tuple(getattr(row, name) for name in fields) != before:
                moved.append(row)
        values_update(UnitTask, moved, [*fields, "next_flag_at"])
    return len(moved)
