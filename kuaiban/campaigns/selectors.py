"""Reads of the campaign: the subjects of a unit's docking plan, a unit's tasks, and where a
campaign stands (per phase and task: filed, accepted, late, missing)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import QuerySet

from kuaiban.catalog.models import Bundle, SpeedUpEntry, Unit

from .models import Campaign, Finding, Phase, PhaseTask, UnitTask, UnitTaskState


def docking_subjects(unit: Unit) -> tuple[list[Bundle], list[SpeedUpEntry]]:
    """The bundles the unit leads and the speed-up items among whose items it handles one."""
    bundles = list(Bundle.objects.filter(lead_unit=unit).order_by("code"))
    speedups = list(SpeedUpEntry.objects.filter(items__unit=unit).distinct().order_by("number"))
    return bundles, speedups


def unit_tasks_for(unit_id: int | None) -> QuerySet[UnitTask]:
    if unit_id is None:
        return UnitTask.objects.none()
    return (
        UnitTask.objects.filter(unit_id=unit_id)
        .select_related("task__phase__campaign", "unit")
        .order_by("-task__phase__campaign__year", "due_at")
    )


def current_campaign(today: date) -> Campaign | None:
    """The launched campaign running today, else the latest launched one."""
    launched = Campaign.objects.filter(launched_at__isnull=False)
    return (
        launched.filter(starts_on__lte=today, ends_on__gte=today).first()
        or launched.order_by("-year", "-starts_on").first()
    )


@dataclass
class TaskProgress:
    task: PhaseTask
    units: int = 0
    filed: int = 0
    accepted: int = 0
    late: int = 0  # filed late, or due and not filed


@dataclass
class PhaseProgress:
    phase: Phase
    status: str
    tasks: list[TaskProgress] = field(default_factory=list)


@dataclass
class CampaignProgress:
    campaign: Campaign
    phases: list[PhaseProgress]
    behind: list[UnitTask]  # late or missing filings, the most overdue first


def is_behind(unit_task: UnitTask, now: datetime) -> bool:
    """Filed late, or due and still without a filing under review or accepted."""
    if unit_task.submitted_late:
        return True
    return unit_task.state in (UnitTaskState.OPEN, UnitTaskState.RETURNED) and (
        now > unit_task.due_at
    )


def campaign_progress(campaign: Campaign, now: datetime) -> CampaignProgress:
    """Three queries: phases, tasks, unit tasks."""
    today = now.date()
    phases = list(campaign.phases.all())
    tasks = list(PhaseTask.objects.filter(phase__campaign=campaign))
    rows = list(
        UnitTask.objects.filter(task__phase__campaign=campaign).select_related("unit", "task")
    )
    counts: dict[int, Counter] = {}
    for row in rows:
        c = counts.setdefault(row.task_id, Counter())
        c["units"] += 1
        c["filed"] += row.first_submitted_at is not None
        c["accepted"] += row.state == UnitTaskState.ACCEPTED
        c["late"] += is_behind(row, now)
    by_phase: dict[int, list[TaskProgress]] = {}
    for task in tasks:
        c = counts.get(task.pk, Counter())
        by_phase.setdefault(task.phase_id, []).append(
            TaskProgress(task, c["units"], c["filed"], c["accepted"], c["late"])
        )
    behind = sorted((r for r in rows if is_behind(r, now)), key=lambda r: (r.due_at, r.unit.code))
    return CampaignProgress(
        campaign,
        [PhaseProgress(p, p.status(today), by_phase.get(p.pk, [])) for p in phases],
        behind,
    )


def findings_for_unit(unit_id: int | None) -> QuerySet[Finding]:
    if unit_id is None:
        return Finding.objects.none()
    return (
        Finding.objects.filter(unit_id=unit_id)
        .select_related("evaluation__bundle", "evaluation__speedup", "evidence")
        .order_by("state", "due_at")
    )
