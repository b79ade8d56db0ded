"""kuaiban/bulk_update.py: some fields of many rows written in one statement per chunk."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kuaiban import bulk_update
from speedup.models import ClockRecompute

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_values_update_writes_the_named_fields_of_every_row_and_nothing_else(monkeypatch):
    monkeypatch.setattr(bulk_update, "CHUNK", 3)  # 7 rows: three statements
    rows = [ClockRecompute.objects.create(days=[f"2026-12-0{i}"]) for i in range(1, 8)]
    start = datetime(2026, 12, 1, 9, 30, tzinfo=SH)
    for i, row in enumerate(rows):
        row.started_at = start + timedelta(minutes=i)
        row.moved = i * 10
        row.days = ["changed in memory only"]
    bulk_update.values_update(ClockRecompute, rows, ["started_at", "moved"])
    stored = {r.pk: r for r in ClockRecompute.objects.filter(pk__in=[r.pk for r in rows])}
    for i, row in enumerate(rows):
        assert stored[row.pk].started_at == start + timedelta(minutes=i)
        assert stored[row.pk].moved == i * 10
        assert stored[row.pk].days == [f"2026-12-0{i + 1}"]  # not named: left as it was
    bulk_update.values_update(ClockRecompute, [], ["moved"])  # nothing to write: no statement
