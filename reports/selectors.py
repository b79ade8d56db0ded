"""Reads for the reports: what an export will contain, and the report to bureau leaders.

Every figure comes from the supervision selectors (`acceptance.selectors`) with the same filters
and period, so a report or a workbook shows exactly what the dashboard shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone

from acceptance.figures import FIGURES, SINGLE_ITEMS, case_filter_q, spans_q
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import Dashboard, UnitRow, dashboard
from acceptance.selectors.drilldown import (
    BROKE_VISIT_TARGET,
    DRILL_FIGURES,
    MULTI_VISIT,
    OverdueCase,
    cases_behind,
    overdue_cases,
    overdue_rows,
)
from acceptance.selectors.programme import ProgrammeStatus, programme_status
from acceptance.selectors.satisfaction import (
    GroupSatisfaction,
    RateValue,
    Satisfaction,
    UnitSatisfaction,
    satisfaction_by,
)
from kuaiban.campaigns.selectors import CampaignProgress, campaign_progress, current_campaign
from kuaiban.cases.models import ItemCase
from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit, Window
from kuaiban.ratings.selectors import FollowUpCounts, follow_up_counts
from speedup.models import CaseFlag
from speedup.selectors import ON_TIME_GOAL, ProgrammeGoal, speedup_goal

from .models import ExportJob, ExportKind, LeaderReport

FILTER_LABELS = {
    "bundle": ("一件事", Bundle),
    "item": ("事项", ServiceItem),
    "unit": ("单位", Unit),
    "window": ("窗口", Window),
    "hall": ("服务大厅", ServiceHall),
    "district": ("县（市、区）", District),
}


def filters_described(filters: dict) -> list[tuple[str, str]]:
    """(label, name) of each filter set, in Chinese; one query per filter set (at most six)."""
    described = []
    for name, (label, model) in FILTER_LABELS.items():
        value = filters.get(name)
        if value is None or value == "":
            continue
        if name == "bundle" and value == SINGLE_ITEMS:
            described.append((label, "单事项申请（不属于一件事）"))
            continue
        obj = model._default_manager.filter(pk=value).first()
        described.append((label, str(obj) if obj else f"#{value}"))
    return described


def figure_label(figure: str) -> str:
    if figure == MULTI_VISIT:
        return "到场超过一次的申请"
    if figure == BROKE_VISIT_TARGET:
        return "跑动次数超过承诺的申请"
    return str(FIGURES[figure].label) if figure in FIGURES else figure


# -- what an export reads --------------------------------------------------------------------


def flags_in(filters: dict, period: Period) -> QuerySet[CaseFlag]:
    """Deadline flags fired in the period, on the cases the filters select, oldest first."""
    flags = CaseFlag.objects.filter(spans_q("flagged_at", [period.span]))
    q = case_filter_q(filters)
    if q:
        flags = flags.filter(item_case__in=ItemCase.objects.filter(q).values("pk"))
    return flags.order_by("flagged_at", "pk")


def export_queryset(
    kind: str, *, filters: dict, period: Period, figure: str = "", now: datetime | None = None
) -> QuerySet:
    """The rows a case or flag export writes (not for the KPI tables)."""
    if kind == ExportKind.CASES:
        if figure not in DRILL_FIGURES:
            raise ValueError(f"unknown figure {figure!r}")
        return cases_behind(figure, filters, period)
    if kind == ExportKind.OVERDUE:
        return overdue_cases(filters, now=now)
    if kind == ExportKind.FLAGS:
        return flags_in(filters, period)
    raise ValueError(f"no row queryset for {kind!r}")


def rating_groups(board: Dashboard, dimensions) -> dict[str, list[GroupSatisfaction]]:
    """The board's 好差评 figures per member of each dimension (`satisfaction_by`, the board's
    filters and period): three queries per dimension, whatever the number of members."""
    return {name: satisfaction_by(name, board.filters, board.period) for name in dimensions}


def jobs_of(user, limit: int = 20) -> list[ExportJob]:
    return list(ExportJob.objects.filter(user=user)[:limit])


def retried_as(job: ExportJob) -> ExportJob | None:
    """The new run its owner started from this job, if any."""
    return ExportJob.objects.filter(retry_of=job).first()


# -- the report to bureau leaders ------------------------------------------------------------

OVERDUE_SHOWN = 20


@dataclass
class UnitBehind:
    row: UnitRow
    reasons: list[str]


@dataclass
class LeaderData:
    period: Period
    filters: dict
    board: Dashboard
    programme: ProgrammeStatus
    speedup: ProgrammeGoal  # the speed-up goal measured over the report's period
    overdue_now: int
    breached_now: int  # of those, past the statutory limit too
    overdue_rows: list[OverdueCase]
    units_behind: list[UnitBehind]
    computed_at: datetime
    ratings_behind: list[RatingsBehind] = field(default_factory=list)  # 好差评, in the period
    follow_ups: FollowUpCounts | None = None  # 好差评: where the follow-ups stand now
    filter_names: list[tuple[str, str]] = field(default_factory=list)
    campaign: CampaignProgress | None = None  # the campaign's phases beside the figures

    @property
    def values(self) -> dict[str, int]:
        return self.board.values

    @property
    def ratings(self) -> Satisfaction:
        """The period's 好差评 figures: the dashboard's."""
        return self.board.ratings

    @property
    def answered_rate(self) -> RateValue:
        """The period's follow-ups answered, against the goal (every one)."""
        return self.board.ratings.rate("answered_rate")


def units_behind(units: list[UnitRow]) -> list[UnitBehind]:
    """Units below the on-time goal (90%), leaning on the statutory limit (more than twice the
    average share of the units shown: the dashboard chart's rule) or with statutory breaches."""
    accepted = sum(r.accepted for r in units)
    average = sum(r.statutory_mode for r in units) / accepted if accepted else None
    behind = []
    for row in units:
        reasons = []
        if row.on_time_rate is not None and row.on_time_rate < ON_TIME_GOAL:
            reasons.append("on_time")
        if (
            average
            and row.statutory_mode_rate is not None
            and row.statutory_mode_rate > 2 * average
        ):
            reasons.append("statutory_mode")
        if row.breaches:
            reasons.append("breaches")
        if reasons:
            behind.append(UnitBehind(row, reasons))
    return behind


BAD_RATE_SHOWN = 3  # the units with the highest bad-review rate named in the report


@dataclass
class RatingsBehind:
    row: UnitSatisfaction
    reasons: list[str]  # "answered": below the answered-rate goal; "bad_rate": among the highest


def ratings_behind(units: list[UnitSatisfaction]) -> list[RatingsBehind]:
    """Units below the answered-rate goal (100%: every follow-up answered), and the units with
    the highest bad-review rates (at most BAD_RATE_SHOWN, those with a bad review; ties by the
    number of bad reviews, then by code), in the dashboard's unit order."""
    with_bad = [u for u in units if u.figures["bad"]]
    worst = sorted(
        with_bad,
        key=lambda u: (-(u.figures.rate("bad_rate").value or 0), -u.figures["bad"], u.unit.code),
    )[:BAD_RATE_SHOWN]
    worst_ids = {u.unit.pk for u in worst}
    behind = []
    for row in units:
        reasons = []
        if row.figures.rate("answered_rate").below_goal:
            reasons.append("answered")
        if row.unit.pk in worst_ids:
            reasons.append("bad_rate")
        if reasons:
            behind.append(RatingsBehind(row, reasons))
    return behind


def leader_report(
    filters: dict, period: Period, *, now: datetime | None = None, board: Dashboard | None = None
) -> LeaderData:
    """Progress, outcomes and problems for the period: the dashboard's own selectors.

    `board` is the dashboard for the same filters and period when the caller already has it
    (the views pass the cached one); without it, it is computed. Progress toward the year-end
    goals is taken as at the period's last day (or today); the overdue list is "now" (a present
    state, not a period figure), and so are the follow-ups in hand; the 好差评 rates and the units
    behind on them are the period's, from the board."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    board = board or dashboard(filters, period)
    as_of = min(period.end, today)
    programme = programme_status(as_of.year, today=as_of)
    overdue = overdue_cases(filters, now=now)
    count = overdue.count()
    breached = overdue.filter(statutory_due_at__lte=now).count()
    return LeaderData(
        period=period,
        filters=board.filters,
        board=board,
        programme=programme,
        speedup=speedup_goal(start=period.span[0], end=period.span[1]),
        overdue_now=count,
        breached_now=breached,
        overdue_rows=overdue_rows(list(overdue[:OVERDUE_SHOWN]), now=now),
        units_behind=units_behind(board.units),
        computed_at=now,
        ratings_behind=ratings_behind(board.unit_ratings),
        follow_ups=follow_up_counts(district_id=filters.get("district"), now=now),
        filter_names=filters_described(board.filters),
        campaign=_campaign_at(as_of, now),
    )


def _campaign_at(day, now) -> CampaignProgress | None:
    """Where the campaign running on `day` stands now (its phases and filings), if any."""
    campaign = current_campaign(day)
    return campaign_progress(campaign, now) if campaign else None


def saved_reports(user, limit: int = 20) -> list[LeaderReport]:
    """Reports this user may open: their own, and (city-wide supervisors) everyone's; a district
    supervisor sees those of their district."""
    reports = LeaderReport.objects.select_related("author")
    if getattr(user, "district_id", None):
        reports = reports.filter(filters__district=user.district_id)
    return list(reports[:limit])


def report_visible(report: LeaderReport, user) -> bool:
    district = getattr(user, "district_id", None)
    return not district or report.filters.get("district") == district


def period_of(report: LeaderReport) -> Period:
    return Period(report.period_start, report.period_end)


def as_date(value: str) -> date:
    return date.fromisoformat(value)
