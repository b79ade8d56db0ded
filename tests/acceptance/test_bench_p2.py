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
