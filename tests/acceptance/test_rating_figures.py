"""The 好差评 figures: the rating rollup against direct counts of the ratings and follow-ups,
refreshed for touched days only, an upheld appeal out of the figures, and the reviews behind a
figure (who rated hidden unless named)."""

import re
from datetime import timedelta

import pytest
import time_machine

from acceptance.models import RATING_COUNTS, DailyRatingRollup
from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from acceptance.selectors.satisfaction import reviews_behind
from kuaiban.cases.models import Application, ApplicationState, CaseState
from kuaiban.ratings.models import Channel, FollowUp, FollowUpKind, FollowUpState, Rating
from kuaiban.ratings.services import rating_submit
from tests.builders import follow_ups_worked
from tests.factories import UserFactory

from .conftest import PERIOD, at

pytestmark = pytest.mark.django_db
END = at(2026, 11, 29, 22)
GRADES = (5, 4, 3, 2, 1, 5, 5, 4)  # cycled over the concluded cases


def _in_period(moment) -> bool:
    start, end = Period(*PERIOD).span
    return moment is not None and start <= moment < end


def direct(filters=None) -> dict[str, int]:
    """Every count of the rating rollup, counted straight from the ratings and follow-ups in
    Python (no shared query code)."""
    filters = filters or {}
    counts = dict.fromkeys(RATING_COUNTS, 0)
    for rating in Rating.objects.select_related("item_case", "application", "follow_up"):
        upheld = (
            hasattr(rating, "follow_up") and rating.follow_up.state == FollowUpState.APPEAL_UPHELD
        )
        unit = rating.item_case.unit_id if rating.item_case else None
        if upheld or (filters.get("unit") and unit != filters["unit"]):
            continue
        moment = (rating.item_case or rating.application).concluded_at
        if not _in_period(moment):
            continue
        prefix = "" if rating.item_case else "whole_"
        counts[f"{prefix}rated"] += 1
        counts[f"{prefix}satisfied" if rating.grade >= 3 else f"{prefix}bad"] += 1
    for f in FollowUp.objects.all():
        if not _in_period(f.opened_at) or (filters.get("unit") and f.unit_id != filters["unit"]):
            continue
        counts["fu_opened"] += 1
        counts[f"fu_{f.kind}"] += 1
        counts["fu_due"] += f.state != FollowUpState.APPEAL_UPHELD
        counts["fu_answered"] += f.state == FollowUpState.ANSWERED
        counts["fu_answered_on_time"] += bool(
            f.state == FollowUpState.ANSWERED and f.answered_at <= f.answer_due_at
        )
        counts["fu_escalated"] += f.escalated_at is not None
        counts["fu_rect_rated"] += f.rectification_grade is not None
        counts["fu_rect_satisfied"] += (f.rectification_grade or 0) >= 3
        counts["fu_appealed"] += f.appealed_at is not None
        counts["fu_appeals_upheld"] += f.state == FollowUpState.APPEAL_UPHELD
    return counts


def rollup_rows() -> list[tuple]:
    rows = DailyRatingRollup.objects.values_list("day", "unit", "item", "hall", *RATING_COUNTS)
    return sorted(rows, key=lambda row: tuple(-1 if v is None else v for v in row[1:4]) + row)


def board(filters=None):
    return dashboard(filters or {}, Period(*PERIOD))


def rate_everything() -> None:
    """Each concluded case rated an hour after its conclusion (grades cycled), each bundle as a
    whole badly; some of the bad reviews' follow-ups verified and answered (one late), one
    rectification rated, one appeal upheld."""
    k = 0
    for application in Application.objects.filter(state=ApplicationState.CONCLUDED).order_by("pk"):
        for case in application.cases.filter(state=CaseState.CONCLUDED).order_by("pk"):
            rating_submit(
                application=application,
                item_case=case,
                grade=GRADES[k % len(GRADES)],
                channel=Channel.ONLINE,
                named=k % 3 == 0,
                now=case.concluded_at + timedelta(hours=1),
            )
            k += 1
        if application.bundle_id:
            rating_submit(
                application=application,
                grade=2,
                channel=Channel.ONLINE,
                now=application.concluded_at + timedelta(hours=2),
            )
    reviews = list(FollowUp.objects.filter(kind=FollowUpKind.BAD_REVIEW).order_by("pk"))
    assert len(reviews) >= 4
    follow_ups_worked(reviews)


def test_rule_the_rating_figures_equal_direct_counts_whatever_the_filter(history):
    rate_everything()
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    expected = direct()
    assert expected["fu_missed_deadline"] > 0  # the history has overdue cases
    assert expected["fu_appeals_upheld"] == 1 and expected["fu_answered"] == 2
    assert expected["fu_answered_on_time"] == 1 and expected["fu_rect_satisfied"] == 1
    totals = board()
    assert totals.ratings.counts == expected
    assert totals.ratings.rate("rating_rate").numerator == expected["rated"]
    assert totals.ratings.rate("rating_rate").denominator == totals.values["concluded"]
    assert totals.ratings.rate("answered_rate").value == 2 / expected["fu_due"]
    assert totals.ratings.rate("answered_rate").below_goal
    for row in totals.unit_ratings:
        assert row.figures.counts == direct({"unit": row.unit.pk}), row.unit.code
        assert board({"unit": row.unit.pk}).ratings.counts == row.figures.counts
    # per unit, the whole applications' ratings are nobody's: the units sum to the rest
    for key in ("rated", "bad", "fu_opened"):
        assert sum(r.figures.counts[key] for r in totals.unit_ratings) == expected[key]


def test_rule_a_routine_refresh_rebuilds_the_touched_days_as_a_full_rebuild_would(history):
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    assert board().ratings.counts == direct()
    rate_everything()
    with time_machine.travel(END + timedelta(minutes=5), tick=False):
        result = rollup_refresh()
    assert not result.full
    routine = rollup_rows()
    assert board().ratings.counts == direct()
    with time_machine.travel(END + timedelta(minutes=10), tick=False):
        rollup_refresh(full=True)
    full = rollup_rows()
    assert routine == full


def test_rule_an_upheld_appeal_takes_the_review_out_of_the_figures_and_keeps_it(history):
    rate_everything()
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    upheld = FollowUp.objects.get(state=FollowUpState.APPEAL_UPHELD)
    assert Rating.objects.filter(pk=upheld.rating_id).exists()
    shown = {r.pk for r in reviews_behind("bad", {}, Period(*PERIOD))} | {
        r.pk for r in reviews_behind("whole_bad", {}, Period(*PERIOD))
    }
    assert upheld.rating_id not in shown
    stored_bad = Rating.objects.filter(grade__lte=2).count()
    counts = board().ratings.counts
    assert counts["bad"] + counts["whole_bad"] == stored_bad - 1


def test_the_reviews_behind_a_figure_are_its_count_and_name_only_named_raters(client, history):
    rate_everything()
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    client.force_login(UserFactory(supervisor=True))
    counts = board().ratings.counts
    query = {"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()}
    for figure in ("rated", "bad", "whole_rated", "fu_opened", "fu_answered", "fu_appeals_upheld"):
        response = client.get("/supervision/reviews/", {**query, "figure": figure})
        assert response.status_code == 200
        assert response.context["page"].paginator.count == counts[figure], figure
    response = client.get("/supervision/reviews/", {**query, "figure": "rated"})
    rows = re.findall(
        r'data-rating="(\d+)".*?data-testid="rater">(.*?)</td>', response.content.decode(), re.S
    )
    assert rows
    for pk, rater in rows:
        rating = Rating.objects.select_related("application").get(pk=pk)
        assert (rating.application.reference in rater) == rating.named, pk
    assert {r.named for r in Rating.objects.filter(pk__in=[pk for pk, _ in rows])} == {True, False}
    assert client.get("/supervision/reviews/", {"figure": "nonsense"}).status_code == 404


def test_the_dashboard_and_programme_pages_show_the_rates(client, history):
    rate_everything()
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
        client.force_login(UserFactory(supervisor=True))
        query = {"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()}
        page = client.get("/supervision/dashboard/", query).content.decode()
        programme = client.get("/supervision/")
    ratings = board().ratings
    answered = ratings.rate("answered_rate")
    assert (
        f'data-rate="answered_rate" data-numerator="{answered.numerator}" '
        f'data-denominator="{answered.denominator}"'
    ) in page
    assert programme.status_code == 200
    year = programme.context["status"].ratings
    assert year.counts["rated"] >= ratings.counts["rated"]
