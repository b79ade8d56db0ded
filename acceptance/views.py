"""Supervision pages (mounted at /supervision/): the programme's goals, the dashboard, the
drill-down behind every figure and the overdue list. Supervisors and administrators only (404
for anyone else); a district supervisor sees their district only. Views parse, call one
selector (or its cached service) and render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kuaiban import celery_app
from kuaiban.accounts.decorators import supervision_office_required, supervisor_required
from kuaiban.campaigns.selectors import campaign_progress, current_campaign
from kuaiban.cases.access import access_record
from kuaiban.cases.clocks import office_time_left, read_clock
from kuaiban.cases.models import AccessKind
from kuaiban.commitments.selectors import check_figures
from kuaiban.ratings.followups import followup_appeal_decide
from kuaiban.ratings.selectors import follow_up_counts
from kuaiban.web import form_errors_as_messages, or_404
from speedup.selectors import ON_TIME_GOAL

from . import charts
from .columns import SCREEN_TABLES
from .figures import FIGURES
from .forms import AppealDecisionForm, FilterForm
from .models import DASHBOARD_FIGURES
from .page_cache import dashboard_cached, programme_cached
from .rating_figures import RATING_FIGURES
from .selectors.dashboard import Dashboard
from .selectors.drilldown import (
    BROKE_VISIT_TARGET,
    CASE_SORTS,
    DEFAULT_SORT,
    DRILL_FIGURES,
    MULTI_VISIT,
    case_events,
    case_for_supervisor,
    case_ordering,
    cases_behind,
    overdue_cases,
    overdue_rows,
)
from .selectors.follow_ups import follow_up_for_office, open_follow_ups
from .selectors.satisfaction import reviews_behind
from .selectors.visits import VISIT_DIMENSIONS, visits_by

PAGE_SIZE = 50


def _rollup_minutes() -> int:
    """How often beat refreshes the rollup (kuaiban/celery.py, "refresh-rollups")."""
    entry = celery_app.conf.beat_schedule.get("refresh-rollups", {})
    return max(1, round(float(entry.get("schedule", 300)) / 60))


def _form(request, *, with_period=True) -> FilterForm:
    form = FilterForm(request.GET or None, user=request.user, with_period=with_period)
    if form.is_bound:
        form.is_valid()
    return form


def _trend_chart(board: Dashboard) -> str:
    labels = [p.start.strftime("%m-%d") + ("*" if p.partial else "") for p in board.trend]
    weekly = board.trend_bucket == "week"
    return charts.line_chart(
        title=_("Week by week: received, concluded, flagged overdue")
        if weekly
        else _("Day by day: received, concluded, flagged overdue"),
        x_labels=labels,
        series=[
            (_("Received"), [p.received for p in board.trend]),
            (_("Concluded"), [p.concluded for p in board.trend]),
            (_("Overdue"), [p.overdue for p in board.trend]),
        ],
        note=_("Weeks start on Monday; * a week cut by the start or end of the period.")
        if weekly and any(p.partial for p in board.trend)
        else "",
    )


def _unit_charts(board: Dashboard) -> tuple[str, str]:
    """The on-time rate per unit (worst first) and the share of accepted cases put in
    statutory mode, against the average of the units shown (a unit far above it stands out)."""
    # (Rates are None only without cases, and those units are left out.)
    concluded = sorted((r for r in board.units if r.concluded), key=lambda r: r.on_time_rate or 0.0)
    on_time = charts.bar_chart(
        title=_("On-time rate of the cases concluded, per unit"),
        labels=[r.unit.name for r in concluded],
        values=[r.on_time_rate for r in concluded],
        value_format=charts.percent,
        max_value=1.0,
        reference=ON_TIME_GOAL,
        warn_if=lambda rate: rate < ON_TIME_GOAL,
        note=_("Dashed line: the %(goal)s goal; red bars are below it.")
        % {"goal": charts.percent(ON_TIME_GOAL)},
    )
    accepted = [r for r in board.units if r.accepted]
    total = sum(r.accepted for r in accepted)
    if not total or not any(r.statutory_mode for r in accepted):
        return on_time, ""
    average = sum(r.statutory_mode for r in accepted) / total
    accepted.sort(key=lambda r: -(r.statutory_mode_rate or 0.0))
    usage = charts.bar_chart(
        title=_("Share of accepted cases kept on the statutory limit, per unit"),
        labels=[r.unit.name for r in accepted],
        values=[r.statutory_mode_rate for r in accepted],
        value_format=charts.percent,
        reference=average,
        warn_if=lambda share: share > 2 * average,
        note=_("Dashed line: the average, %(average)s; red bars are more than twice it.")
        % {"average": charts.percent(average)},
    )
    return on_time, usage


@supervisor_required
def dashboard(request):
    form = _form(request)
    period = form.period()
    board = dashboard_cached(form.filters(), period)
    unit_svg, usage_svg = _unit_charts(board) if board.units else ("", "")
    figures = [
        {"value": f, "query": form.query(figure=f.key)}
        for f in board.figures
        if f.key in DASHBOARD_FIGURES
    ]
    return render(
        request,
        "acceptance/dashboard.html",
        {
            "form": form,
            "board": board,
            "figures": figures,
            "query": form.query(),
            "trend_svg": mark_safe(_trend_chart(board)),  # noqa: S308 - escaped by charts
            "unit_svg": mark_safe(unit_svg),  # noqa: S308 - escaped by charts
            "usage_svg": mark_safe(usage_svg),  # noqa: S308 - escaped by charts
            "rollup_minutes": _rollup_minutes(),
            "multi_visit": MULTI_VISIT,
            "broke_visit_target": BROKE_VISIT_TARGET,
            "follow_up_counts": follow_up_counts(district_id=request.user.district_id),
            "columns": SCREEN_TABLES,
        },
    )


def _sort_links(form: FilterForm, current: str, extra: dict) -> dict[str, str]:
    """For each sortable column, the query string that sorts by it (again: reversed)."""
    links = {}
    for key in CASE_SORTS:
        target = f"-{key}" if current == key else key
        links[key] = form.query(**extra, sort=target)
    return links


@supervisor_required
def cases(request):
    figure = request.GET.get("figure", "")
    if figure not in DRILL_FIGURES:
        raise Http404
    form = _form(request)
    period = form.period()
    sort = request.GET.get("sort")
    queryset = cases_behind(figure, form.filters(), period, sort=sort)
    sort, _ordering = case_ordering(sort, DEFAULT_SORT.get(figure, "-received"))
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    label: str | Promise
    definition: str | Promise
    if figure in FIGURES:
        label, definition = FIGURES[figure].label, FIGURES[figure].definition
    elif figure == MULTI_VISIT:
        label = _("Applications with more than one visit")
        definition = _(
            "Item cases of the applications concluded in the period that needed more than one "
            "visit (the goal is at most one)."
        )
    else:
        label = _("Applications with more visits than promised")
        definition = _(
            "Item cases of the applications concluded in the period that made more visits than "
            "their promise allowed: any visit when no visit was promised (一次不用跑), more than "
            "one otherwise (最多跑一次)."
        )
    return render(
        request,
        "acceptance/cases.html",
        {
            "form": form,
            "figure": figure,
            "label": label,
            "definition": definition,
            "page": page,
            "period": period,
            "sort": sort,
            "sort_links": _sort_links(form, sort, {"figure": figure}),
            "hidden": [("figure", figure), ("sort", sort)],
            "page_query": form.query(figure=figure, sort=sort),
            "dashboard_query": form.query(),
        },
    )


@supervisor_required
def reviews(request):
    """The ratings or follow-ups behind a 好差评 figure. Who rated (name, reference) shows only
    when the rater agreed to be named."""
    figure = request.GET.get("figure", "")
    if figure not in RATING_FIGURES:
        raise Http404
    form = _form(request)
    period = form.period()
    queryset = reviews_behind(figure, form.filters(), period)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "acceptance/reviews.html",
        {
            "form": form,
            "figure": RATING_FIGURES[figure],
            "page": page,
            "period": period,
            "hidden": [("figure", figure)],
            "page_query": form.query(figure=figure),
            "dashboard_query": form.query(),
        },
    )


VISIT_GROUP_LABELS = {
    "item": gettext_lazy("Item"),
    "bundle": gettext_lazy("Bundle"),
    "unit": gettext_lazy("Unit"),
    "hall": gettext_lazy("Service hall"),
}


@supervisor_required
def visits(request):
    """跑动次数 against the promises (一次不用跑 / 最多跑一次), in total and per item, bundle,
    unit or hall, with the applications that made more visits than promised."""
    by = request.GET.get("by") or "item"
    if by not in VISIT_DIMENSIONS:
        raise Http404
    form = _form(request)
    period = form.period()
    total, rows = visits_by(by, form.filters(), period)
    return render(
        request,
        "acceptance/visits.html",
        {
            "form": form,
            "period": period,
            "total": total,
            "rows": rows,
            "by": by,
            "groups": [
                (key, label, form.query(by=key)) for key, label in VISIT_GROUP_LABELS.items()
            ],
            "group_label": VISIT_GROUP_LABELS[by],
            "hidden": [("by", by)],
            "broke_query": form.query(figure=BROKE_VISIT_TARGET),
            "dashboard_query": form.query(),
        },
    )


@supervisor_required
def case(request, case_id):
    """A case behind a figure, read-only: who holds it, its clock, how its due times moved and
    everything that happened (the deadline flags included)."""
    now = timezone.now()
    case = or_404(case_for_supervisor(request.user, case_id))
    access_record(
        request, AccessKind.CASE_PAGE, object_id=case.pk, reference=case.application.reference
    )
    return render(
        request,
        "acceptance/case.html",
        {
            "case": case,
            "clock": read_clock(case, now),
            "left": office_time_left(case, now),
            "events": case_events(case),
            "now": now,
        },
    )


@supervisor_required
def overdue(request):
    form = _form(request, with_period=False)
    now = timezone.now()
    sort = request.GET.get("sort")
    queryset = overdue_cases(form.filters(), now=now, sort=sort)
    sort, _ordering = case_ordering(sort, "due")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "acceptance/overdue.html",
        {
            "form": form,
            "page": page,
            "rows": overdue_rows(page.object_list, now=now),
            "now": now,
            "sort": sort,
            "sort_links": _sort_links(form, sort, {}),
            "hidden": [("sort", sort)],
            "page_query": form.query(sort=sort),
        },
    )


@supervisor_required
def follow_ups(request):
    """局行风办: every open follow-up, escalated and overdue first."""
    page = Paginator(open_follow_ups(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "acceptance/follow_ups.html",
        {"page": page, "now": timezone.now(), "decision_form": AppealDecisionForm()},
    )


@supervision_office_required
@require_POST
def follow_up_decide(request, follow_up_id):
    """局行风办 decides a unit's appeal of a bad review."""
    follow_up = or_404(follow_up_for_office(request.user, follow_up_id))
    form = AppealDecisionForm(request.POST)
    if form.is_valid():
        upheld = form.cleaned_data["decision"] == "uphold"
        try:
            followup_appeal_decide(
                follow_up=follow_up,
                actor=request.user,
                upheld=upheld,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Appeal upheld.") if upheld else _("Appeal rejected."))
    else:
        form_errors_as_messages(request, form)
    return redirect("supervision:follow_ups")


def _year(request) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except ValueError:
        return this_year
    return year if 2020 <= year <= this_year + 1 else this_year


@supervisor_required
def programme(request):
    year = _year(request)
    status = programme_cached(year)
    bundle_svg = charts.bar_chart(
        title=_("Applications concluded through each bundle"),
        labels=[f"{b.bundle.code} {b.bundle.name}" for b in status.bundles],
        values=[b.concluded for b in status.bundles],
    )
    entries = [e for e in status.speedup.entries if e.metrics]
    shares = []
    for entry in entries:
        values = [m.share_of_statutory for m in entry.metrics if m.share_of_statutory is not None]
        shares.append(max(values) if values else None)
    speedup_svg = charts.bar_chart(
        title=_("Speed-up items: median handling time as a share of the statutory limit"),
        labels=[f"{e.entry.number}. {e.entry.name}" for e in entries],
        values=shares,
        value_format=charts.percent,
        max_value=1.0,
        reference=0.5,
        warn_if=lambda share: share > 0.5,
        note=_("Dashed line: 50%; at or left of it the item counts as at least 50% faster."),
    )
    return render(
        request,
        "acceptance/programme.html",
        {
            "status": status,
            "year": year,
            "years": list(range(max(2020, year - 3), timezone.localdate().year + 1)),
            "bundle_svg": mark_safe(bundle_svg),  # noqa: S308 - escaped by charts
            "speedup_svg": mark_safe(speedup_svg) if entries else "",  # noqa: S308
            "rollup_minutes": _rollup_minutes(),
            "follow_up_counts": follow_up_counts(district_id=request.user.district_id),
            "campaign": _campaign_now(),
        },
    )


def _campaign_now():
    """Where the campaign running now stands (None without a launched one)."""
    now = timezone.now()
    campaign = current_campaign(timezone.localdate())
    return campaign_progress(campaign, now) if campaign else None


@supervisor_required
def commitment_checks(request):
    """告知承诺制: the post-hoc verifications by unit and by material (opened, done on time,
    found false), straight from the checks (a district's supervisor: its halls only)."""
    return render(
        request,
        "acceptance/commitment_checks.html",
        {"figures": check_figures(district_id=request.user.district_id)},
    )
