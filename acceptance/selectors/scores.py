"""The units' scores for the annual assessment (考核), by the campaign's rubric (data:
`ScoreCriterion`): each criterion's points times the unit's share —

- filings on time: of its filings due by now, those first filed by their due time;
- findings rectified on time: of its improvement opinions due by now or closed, those closed
  by their due time;
- cases concluded on time and satisfaction: the dashboard's own figures for the unit over the
  period (on time ÷ concluded; the 好差评 satisfaction rate).

Nothing to measure counts as full marks (a unit is not punished for having no case). A unit at
or above the campaign's `bonus_from` earns its bonus points; one below `accountable_below`, or
with a filing still missing after its due time, or an improvement opinion overdue and open, is
on the accountability list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from kuaiban.campaigns.models import (
    Campaign,
    CriterionKind,
    Finding,
    FindingState,
    ScoreCriterion,
    UnitTask,
    UnitTaskState,
)
from kuaiban.catalog.models import Unit

from .common import Period
from .dashboard import dashboard


@dataclass
class CriterionScore:
    criterion: ScoreCriterion
    share: float | None  # None: nothing to measure (full marks)
    part: int = 0  # what was met
    whole: int = 0  # what was measured

    @property
    def points(self) -> float:
        share = 1.0 if self.share is None else self.share
        return round(self.criterion.points * share, 1)


@dataclass
class UnitScore:
    unit: Unit
    criteria: list[CriterionScore]
    missing_filings: int
    overdue_findings: int
    bonus: int = 0
    accountable: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.criteria), 1)

    @property
    def total(self) -> float:
        return round(self.score + self.bonus, 1)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def unit_scores(campaign: Campaign, period: Period, now: datetime) -> list[UnitScore]:
    """Every unit the campaign gave a filing or a finding, best first."""
    criteria = list(campaign.criteria.all())
    filings: dict[int, list[UnitTask]] = defaultdict(list)
    for task in UnitTask.objects.filter(task__phase__campaign=campaign):
        filings[task.unit_id].append(task)
    findings: dict[int, list[Finding]] = defaultdict(list)
    for finding in Finding.objects.filter(evaluation__campaign=campaign):
        findings[finding.unit_id].append(finding)
    units = Unit.objects.in_bulk(set(filings) | set(findings))
    board = dashboard({}, period)
    cases = {row.unit.pk: row for row in board.units}
    ratings = {row.unit.pk: row.figures for row in board.unit_ratings}
    result = []
    for unit_id, unit in units.items():
        due = [t for t in filings[unit_id] if t.due_at <= now]
        on_time = [
            t for t in due if t.first_submitted_at is not None and t.first_submitted_at <= t.due_at
        ]
        missing = [t for t in due if t.state in (UnitTaskState.OPEN, UnitTaskState.RETURNED)]
        measured = [f for f in findings[unit_id] if f.due_at <= now or f.closed_at is not None]
        closed_in_time = [f for f in measured if f.closed_at is not None and not f.closed_late]
        overdue = [f for f in measured if f.state == FindingState.OPEN and f.due_at <= now]
        row = cases.get(unit_id)
        rating = ratings.get(unit_id)
        satisfaction = rating.rate("satisfaction_rate") if rating is not None else None
        measures: dict[str, tuple[int, int]] = {
            CriterionKind.FILINGS_ON_TIME: (len(on_time), len(due)),
            CriterionKind.FINDINGS_CLOSED: (len(closed_in_time), len(measured)),
            CriterionKind.CASES_ON_TIME: (row.on_time, row.concluded) if row else (0, 0),
            CriterionKind.SATISFACTION: (
                (satisfaction.numerator, satisfaction.denominator) if satisfaction else (0, 0)
            ),
        }
        scored = [CriterionScore(c, _share(*measures[c.kind]), *measures[c.kind]) for c in criteria]
        unit_score = UnitScore(unit, scored, len(missing), len(overdue))
        if unit_score.score >= campaign.bonus_from:
            unit_score.bonus = campaign.bonus_points
        if missing:
            unit_score.reasons.append("missing_filings")
        if overdue:
            unit_score.reasons.append("overdue_findings")
        if unit_score.score < campaign.accountable_below:
            unit_score.reasons.append("low_score")
        unit_score.accountable = bool(unit_score.reasons)
        result.append(unit_score)
    result.sort(key=lambda s: (-s.total, s.unit.code))
    return result
