"""Smoke tests of bench/run.py's P3 and P5 workloads at a tiny size: they run end to end and
print their figures (the figures themselves are for `bench/run.py`; no time is asserted)."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_p3_sweep_runs_on_a_small_history(committed_db):
    from bench.run import p3_sweep

    lines = []
    figures = p3_sweep([400, 800], due=20, worst_due=40, repeat=1, out=lines.append)
    assert [row["size"] for row in figures["rows"]] == [400, 800]
    assert all(row["due_s"] > 0 and row["indexed"] > 0 for row in figures["rows"])
    assert "ratio" in figures
    assert any("due query plan" in line for line in lines)


@pytest.mark.django_db
def test_p5_arithmetic_agrees_with_the_day_by_day_loop():
    from bench.run import p5_arithmetic

    figures = p5_arithmetic(2_000, naive_size=500, repeat=1)
    assert figures["agree"] and figures["naive_subset"] == 500 and figures["fast_s"] > 0
