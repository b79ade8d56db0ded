"""A smoke test of the P2 benchmark function (the figures themselves are for bench/run.py)."""

import pytest

from devtools.history import history_generate

pytestmark = pytest.mark.django_db


def test_p2_dashboard_runs_on_a_small_history():
    from bench.p2_dashboard import LABELS, p2_dashboard

    history_generate(cases=200, seed=2)
    lines = []
    figures = p2_dashboard(samples=3, out=lines.append)
    assert figures["combinations"] == 3
    assert set(figures["median_ms"]) == set(figures["p95_ms"]) == set(LABELS)
    for key in LABELS:
        assert 0 < figures["median_ms"][key] <= figures["p95_ms"][key]
    assert all(ratio > 0 for ratio in figures["ratios"].values())
    assert any("ratios (medians)" in line for line in lines)


def test_p2_dashboard_generates_the_missing_history_with_its_ratings():
    from acceptance.models import DailyRatingRollup
    from bench.p2_dashboard import p2_dashboard
    from kuaiban.cases.models import ItemCase
    from kuaiban.ratings.models import FollowUp, Rating

    history_generate(cases=100, seed=2)
    figures = p2_dashboard(samples=2, cases=400, out=lambda line: None)
    assert figures["combinations"] == 2
    assert ItemCase.objects.count() == 400
    assert Rating.objects.exists() and FollowUp.objects.exists()
    assert DailyRatingRollup.objects.exists()  # the page's rating figures were rolled up
