"""P4: the Excel export of `cases` item cases (docs/quality.md).

Measured side by side in one run, on the same rows (the cases behind the "received" figure over
a period covering the whole history):

- the export job (`reports.jobs.export_run`: COUNT, rows streamed with values_list and
  `.iterator(chunk_size=2000)`, a conditional progress UPDATE per chunk, the styled workbook with
  masked names, saved to MEDIA_ROOT/exports);
- a bare openpyxl write-only loop over the same values_list rows (time zones dropped, nothing
  else), saved to a temporary file.

Reported: rows/s of each, their ratio, and the export's peak Python memory (tracemalloc, a
separate run since tracing slows Python down) at `cases` and at a tenth of it (flat in row count:
the ratio ≈ 1). Targets: ≥ 3 k rows/s, peak ≤ 100 MiB and flat.

Call after Django is set up on a benchmark database (bench/run.py's `_setup`); missing cases are
generated with `speedup.history` (existing cases are kept and counted).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

MIB = 1024 * 1024


def _ensure_cases(cases: int, out) -> None:
    from devtools.history import history_generate
    from kuaiban.cases.models import ItemCase

    have = ItemCase.objects.count()
    if have < cases:
        out(f"  generating {cases - have:,} item cases …")
        history_generate(cases=cases - have, seed=4)


def _period():
    from django.db.models import Min
    from django.utils import timezone

    from acceptance.selectors.common import Period
    from kuaiban.cases.models import ItemCase

    first = ItemCase.objects.aggregate(first=Min("created_at"))["first"] or timezone.now()
    return Period(timezone.localtime(first).date(), timezone.localdate() + timedelta(days=1))


def _narrow(period, limit: int):
    """The period cut short so that about `limit` received cases fall in it."""
    from django.utils import timezone

    from acceptance.selectors.common import Period
    from acceptance.selectors.drilldown import cases_behind

    received = cases_behind("received", {}, period, sort="received")
    moment = received.values_list("created_at", flat=True)[limit - 1 : limit].first()
    if moment is None:
        return period
    return Period(period.start, timezone.localtime(moment).date())


def _job(user, period, limit: int | None):
    """A queued job exporting the received cases of the period (limit: of the first days only,
    about `limit` rows: used for the smaller memory run)."""
    from reports.models import ExportJob, ExportKind
    from reports.services import export_parameters

    if limit is not None:
        period = _narrow(period, limit)
    return ExportJob.objects.create(
        user=user,
        kind=ExportKind.CASES,
        parameters=export_parameters(
            kind=ExportKind.CASES, filters={}, period=period, figure="received"
        ),
    )


def _bare(period) -> tuple[float, int]:
    import openpyxl

    from acceptance.selectors.drilldown import cases_behind
    from reports.exports import CASE_HEADERS, CASE_VALUES, CHUNK, header_texts

    rows = cases_behind("received", {}, period).values_list(*CASE_VALUES)
    started = time.perf_counter()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.append(header_texts(CASE_HEADERS))
    n = 0
    for row in rows.iterator(chunk_size=CHUNK):
        sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
        n += 1
    with tempfile.TemporaryDirectory() as folder:
        book.save(Path(folder) / "bare.xlsx")
    return time.perf_counter() - started, n


def _export(user, period, limit=None) -> tuple[float, int]:
    from reports.jobs import export_run

    job = _job(user, period, limit)
    started = time.perf_counter()
    job = export_run(job.pk)
    elapsed = time.perf_counter() - started
    if job.status != "done":
        raise RuntimeError(f"export failed: {job.error}")
    return elapsed, job.rows_written


def _peak(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def p4_export(
    cases: int = 100_000,
    *,
    repeat: int = 3,
    memory: bool = True,
    generate: bool = True,
    out: Callable[[str], None] = print,
) -> dict:
    """Rows/s of the export job vs a bare openpyxl loop, and the export's peak memory."""
    import shutil

    from django.conf import settings

    from kuaiban.accounts.models import Role, User
    from reports.models import ExportJob

    out(f"P4 Excel export of {cases:,} item cases")
    if generate:
        _ensure_cases(cases, out)
    user, _created = User.objects.get_or_create(
        username="bench-p4-supervisor", defaults={"role": Role.SUPERVISOR}
    )
    # A database holding more (P3 leaves 1 M) is measured on about `cases` of them.
    period = _narrow(_period(), cases)
    media = tempfile.mkdtemp(prefix="p4-media-")
    old_media, settings.MEDIA_ROOT = settings.MEDIA_ROOT, media
    try:
        export_times, bare_times, rows = [], [], 0
        for _ in range(repeat):  # interleaved, so noise hits both alike
            seconds, rows = _export(user, period)
            export_times.append(seconds)
            seconds, bare_rows = _bare(period)
            bare_times.append(seconds)
        export_s, bare_s = statistics.median(export_times), statistics.median(bare_times)
        figures = {
            "rows": rows,
            "bare_rows": bare_rows,
            "export_rows_per_s": rows / export_s if export_s else 0.0,
            "bare_rows_per_s": bare_rows / bare_s if bare_s else 0.0,
        }
        figures["ratio"] = (
            figures["export_rows_per_s"] / figures["bare_rows_per_s"]
            if figures["bare_rows_per_s"]
            else 0.0
        )
        if memory:
            figures["peak_mib"] = _peak(lambda: _export(user, period))
            figures["peak_mib_tenth"] = _peak(
                lambda: _export(user, period, limit=max(rows // 10, 1))
            )
            figures["memory_ratio"] = (
                figures["peak_mib"] / figures["peak_mib_tenth"] if figures["peak_mib_tenth"] else 0
            )
    finally:
        settings.MEDIA_ROOT = old_media
        shutil.rmtree(media, ignore_errors=True)
        ExportJob.objects.filter(user=user).delete()
    out(
        f"  export job:  {figures['export_rows_per_s']:,.0f} rows/s over {rows:,} rows "
        f"(target ≥ 3,000: {'met' if figures['export_rows_per_s'] >= 3000 else 'NOT met'})"
    )
    out(f"  bare openpyxl write-only loop: {figures['bare_rows_per_s']:,.0f} rows/s")
    out(f"  ratio export ÷ bare: {figures['ratio']:.2f}")
    if memory:
        flat = figures["peak_mib"] <= 100 and figures["memory_ratio"] < 1.5
        out(
            f"  peak memory (tracemalloc): {figures['peak_mib']:.1f} MiB at {rows:,} rows, "
            f"{figures['peak_mib_tenth']:.1f} MiB at a tenth; ratio {figures['memory_ratio']:.2f}"
            f" (target ≤ 100 MiB and flat: {'met' if flat else 'NOT met'})"
        )
    return figures
