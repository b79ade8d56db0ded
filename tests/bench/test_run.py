"""Smoke tests of bench/run.py's P3 and P5 workloads at a tiny size: they run end to end and
print their figures (the figures themselves are for `bench/run.py`; no time is asserted)."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_p3_sweep_runs_on_a_small_history(committed_db):
    from bench.run import p3_sweep

    lines = []
    figures = p3_sweep(
        [400, 800], due=20, worst_due=40, row_cost_rows=30, repeat=1, out=lines.append
    )
    assert [row["size"] for row in figures["rows"]] == [400, 800]
    assert all(row["due_s"] > 0 and row["indexed"] > 0 for row in figures["rows"])
    assert "ratio" in figures
    assert any("due query plan" in line for line in lines)
    # Where a swept row's time goes: the statement as built and without each part, each part's
    # cost named (the foreign keys are checked at once, so each variant pays or saves them).
    costs = figures["row_costs"]
    assert set(costs) == {
        "as built",
        "the chain's lock of the application row",
        "the look-up of the chain's head",
        "the hash",
        "the whole chain trigger",
        "the flag's foreign key",
        "the event's foreign keys",
    }
    assert all(seconds > 0 for seconds in costs.values())
    (line,) = [line for line in lines if line.startswith("  a swept row in PostgreSQL")]
    assert "the hash " in line and "the rest (the update, the two inserts" in line
    assert "the target allows 100 µs per row and connection" in line


@pytest.mark.django_db
def test_the_header_names_the_servers_memory_settings_and_says_when_they_are_below_advice(
    monkeypatch,
):
    from django.db import connection

    import bench.run as run

    line = run._server_settings(connection)
    assert all(name in line for name in run.SERVER_SETTINGS)
    # On a machine with a thousand times the memory, any shared_buffers here is too small.
    memory_pages = run.os.sysconf("SC_PHYS_PAGES") * 1000
    monkeypatch.setattr(
        run.os,
        "sysconf",
        lambda name: memory_pages if name == "SC_PHYS_PAGES" else 4096,
    )
    assert "below README's advice" in run._server_settings(connection)


@pytest.mark.django_db
def test_p5_arithmetic_agrees_with_the_day_by_day_loop():
    from bench.run import p5_arithmetic

    figures = p5_arithmetic(2_000, naive_size=500, repeat=1)
    assert figures["agree"] and figures["naive_subset"] == 500 and figures["fast_s"] > 0


@pytest.mark.django_db(transaction=True)
def test_p7_rollup_refresh_runs_on_a_small_history(committed_db):
    from bench.p7_rollup import p7_rollup

    lines = []
    figures = p7_rollup(600, changes=(5, 20), repeat=1, out=lines.append)
    assert figures["cases"] >= 600 and figures["full_s"] > 0
    assert [c["k"] for c in figures["changes"]] == [5, 20]
    # A routine refresh rebuilds the changed cases' groups only: a few, never every day.
    assert all(c["groups"] > 0 and c["rows"] > 0 for c in figures["changes"])
    assert any("routine refresh after 20 changed cases" in line for line in lines)


@pytest.mark.django_db(transaction=True)
def test_p8_recompute_reads_only_the_clocks_spanning_the_edited_day(committed_db):
    from bench.p8_recompute import p8_recompute
    from kuaiban.workdays.models import CalendarDay

    kinds = dict(CalendarDay.objects.values_list("date", "kind"))
    lines = []
    figures = p8_recompute(600, out=lines.append)
    assert 0 < figures["touched"] <= figures["open"]
    assert figures["moved"] <= figures["touched"]
    assert any("a full recompute would have read" in line for line in lines)
    assert dict(CalendarDay.objects.values_list("date", "kind")) == kinds  # edit undone
