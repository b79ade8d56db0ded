"""A smoke test of the P4 benchmark function (the figures themselves are for bench/run.py)."""

import pytest

pytestmark = pytest.mark.django_db


def test_p4_export_runs_on_a_small_history():
    from bench.p4_export import p4_export

    lines = []
    figures = p4_export(300, repeat=1, out=lines.append)
    assert figures["rows"] == figures["bare_rows"] >= 300
    assert figures["export_rows_per_s"] > 0 and figures["bare_rows_per_s"] > 0
    assert figures["peak_mib"] > 0 and figures["peak_mib_tenth"] > 0
    assert any("ratio export" in line for line in lines)
