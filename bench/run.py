"""Benchmarks of docs/quality.md, measured side by side in one run; medians of repetitions.

    python bench/run.py                  # P3 at 100,000 and 1,000,000 item cases, P5 at 1 M
    python bench/run.py --quick          # P3 at 10,000 and 100,000, P5 at 100 k: a fast check
    python bench/run.py --sizes 50000,500000 --only p3 --repeat 7
    python bench/run.py --only p1        # P1: submissions over HTTP (p1_submissions.py)

It needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kuaiban_bench).
The database is created when missing, migrated, and loaded with the reference data. The bench
owns it: P3 empties the case tables and refills them with `speedup.history`, so its name must
contain "bench". Each workload is a function returning its figures (P2 in `p2_dashboard.py`,
P4 in `p4_export.py`, P7 in `p7_rollup.py`, P8 in `p8_recompute.py`, beside this file);
`WORKLOADS` lists them. P2, P7 and P8 run on `--cases` item cases (1 M; 100 k with --quick),
what P3 left or generated (the generated history carries its ratings and follow-ups). The test
suite never asserts these times.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kuaiban_bench"
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)


# -- set-up ------------------------------------------------------------------------------------


def _setup() -> None:
    """Django on the benchmark database (created, migrated and loaded when needed)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings.test")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if "postgresql" not in config["ENGINE"]:
        sys.exit("bench/run.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    if "bench" not in config["NAME"]:
        sys.exit(
            f"bench/run.py empties the case tables of its database; {config['NAME']!r} does not "
            "look like a benchmark database (its name must contain 'bench')."
        )
    server = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    server.close()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)


def _median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of `repeat` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _meets(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- P3: the deadline sweep --------------------------------------------------------------------


class _Rollback(Exception):
    """Raised to undo a measured sweep (the event log refuses DELETE, not a rollback)."""


def _reset_cases() -> None:
    """Empty the case tables and remove the users an earlier run generated."""
    from django.db import connection

    from devtools.history import USERNAME_PREFIX
    from kuaiban.accounts.models import User
    from kuaiban.cases.models import StoredFile

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE cases_application, cases_itemcase, cases_caseevent, speedup_caseflag, "
            "notifications_notification CASCADE"
        )
    # P1's citizens own the uploads their applications shared (the rows, not files on disk).
    StoredFile.objects.filter(owner__username__startswith=USERNAME_PREFIX).delete()
    User.objects.filter(username__startswith=USERNAME_PREFIX).delete()


def _due_candidates(now, limit: int) -> list[int]:
    """Running clocks whose 50% warning is still ahead, spread over the table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM cases_itemcase WHERE state IN ('accepted', 'in_review', "
            "'awaiting_department') AND flag_50_at IS NULL AND warn_50_at > %s "
            "ORDER BY (id * 2654435761) %% 4294967296 LIMIT %s",
            [now, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _make_due(ids: list[int], now) -> None:
    """Make `ids` newly due: their 50% warning passed a minute ago."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_itemcase SET warn_50_at = %s, next_flag_at = %s WHERE id = ANY(%s)",
            [now - timedelta(minutes=1), now - timedelta(minutes=1), ids],
        )


def _timed_sweep(now) -> tuple[float, int]:
    """One sweep at `now`: (seconds, flags fired)."""
    from speedup.services.sweep import deadlines_sweep

    started = time.perf_counter()
    result = deadlines_sweep(now=now)
    return time.perf_counter() - started, result.total


def _sweep_with_due(ids: list[int], now) -> tuple[float, int]:
    """Make `ids` newly due, time one sweep, and roll everything back. Returns (seconds, flags
    fired)."""
    from django.db import transaction

    outcome: list[tuple[float, int]] = []
    try:
        with transaction.atomic():
            _make_due(ids, now)
            outcome.append(_timed_sweep(now))
            raise _Rollback
    except _Rollback:
        pass
    return outcome[0]


def _sweep_committed(ids: list[int], now) -> tuple[float, int]:
    """Make `ids` newly due and time one sweep, both committed, as in production: a backlog
    beyond one batch is then swept on several connections (`deadlines_sweep`), which a sweep
    inside a rolled-back transaction cannot do. The clocks stay flagged: each repetition needs
    clocks of its own. Returns (seconds, flags fired)."""
    _make_due(ids, now)
    return _timed_sweep(now)


def _vacuum(table: str = "cases_itemcase") -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")


def _due_query_plan(now) -> str:
    """The sweep's due query plan, node by node (it should read the partial index)."""
    from kuaiban.cases.models import RUNNING_CLOCK_STATES, ItemCase

    plan = (
        ItemCase.objects.filter(next_flag_at__lte=now, state__in=RUNNING_CLOCK_STATES)
        .order_by("next_flag_at")
        .values_list("pk", flat=True)[:5000]
        .explain()
    )
    nodes = [
        line.strip().removeprefix("->").strip().split("  (")[0]
        for line in plan.splitlines()
        if line.strip() and "  (cost=" in line
    ]
    return " → ".join(nodes)


def p3_sweep(
    sizes=DEFAULT_SIZES,
    *,
    due: int = 2000,
    worst_due: int = 50_000,
    row_cost_rows: int = 5000,
    repeat: int = 5,
    seed: int = 1,
    out: Callable[[str], None] = print,
) -> dict:
    """Sweep time with `due` newly due clocks at each size (item cases generated as open
    applications), the ratio largest ÷ smallest, a sweep with nothing due, and rows/s with
    `worst_due` newly due at the largest size."""
    from django.db.models import Q
    from django.utils import timezone

    from devtools.history import history_generate
    from kuaiban.cases.models import RUNNING_CLOCK_STATES, ItemCase
    from speedup.services.sweep import deadlines_sweep

    sizes = sorted(sizes)
    _reset_cases()
    out(f"P3 deadline sweep: {due:,} newly due per sweep, medians of {repeat}")
    out(
        f"  {'item cases':>12} {'generated':>10} {'running':>10} {'in index':>10} "
        f"{'backlog':>16} {'nothing due':>12} {f'{due:,} due':>12}"
    )
    rows, generated = [], 0
    worst = None
    row_cost: dict[str, float] = {}
    for size in sizes:
        started = time.perf_counter()
        history_generate(cases=size - generated, open_share=1.0, seed=seed + len(rows))
        generation = time.perf_counter() - started
        generated = size
        now = timezone.now()
        # What the generator left due (its sweep lag): cleared here, and a first figure.
        backlog_started = time.perf_counter()
        backlog = deadlines_sweep(now=now).total
        backlog_s = time.perf_counter() - backlog_started
        _vacuum()
        running = ItemCase.objects.filter(state__in=RUNNING_CLOCK_STATES).count()
        indexed = ItemCase.objects.filter(~Q(next_flag_at=None)).count()
        nothing_s, nothing = _median_time(lambda now=now: deadlines_sweep(now=now), 20)
        if nothing.total:
            raise RuntimeError(f"a sweep after the backlog still fired {nothing.total} flags")
        largest = size == sizes[-1]
        worst_repeat = max(1, repeat // 2)
        wanted = max(due, worst_due * worst_repeat + row_cost_rows) if largest else due
        candidates = _due_candidates(now, wanted)
        if len(candidates) < due:
            out(f"  {size:>12,}: only {len(candidates)} running clocks to make due; skipped")
            continue
        times = []
        for _ in range(repeat):
            seconds, fired = _sweep_with_due(candidates[:due], now)
            if fired != due:
                raise RuntimeError(f"{due} clocks made due but {fired} flags fired")
            times.append(seconds)
        due_s = statistics.median(times)
        backlog_text = f"{backlog:,} in {_ms(backlog_s)}"
        out(
            f"  {size:>12,} {generation:>9.0f}s {running:>10,} {indexed:>10,} "
            f"{backlog_text:>16} {_ms(nothing_s):>12} {_ms(due_s):>12}"
        )
        rows.append({"size": size, "due_s": due_s, "nothing_s": nothing_s, "indexed": indexed})
        if largest:
            out(f"  due query plan: {_due_query_plan(now)}")
            # Fresh clocks for each committed repetition (at small sizes: what there is).
            worst_n = min(worst_due, (len(candidates) - row_cost_rows) // worst_repeat)
            if worst_n > due:
                worst_times = []
                for i in range(worst_repeat):
                    _vacuum()
                    seconds, fired = _sweep_committed(
                        candidates[i * worst_n : (i + 1) * worst_n], now
                    )
                    worst_times.append(seconds)
                worst = (size, fired, statistics.median(worst_times))
                # The rows a big sweep moved leave dead entries in the due range of the partial
                # index until VACUUM; a bitmap scan cannot mark them, so idle sweeps read them.
                after_s, _ = _median_time(lambda now=now: deadlines_sweep(now=now), 20)
                out(
                    f"  nothing due right after the {fired:,}-row sweep, before VACUUM: "
                    f"{_ms(after_s)}"
                )
                _vacuum()
            # Where a swept row's time goes, on clocks the worst case left unflagged.
            spare = candidates[worst_n * worst_repeat :][:row_cost_rows]
            if spare:
                from bench.p3_row_costs import row_costs, row_costs_line

                row_cost = row_costs(spare, now, _make_due)
                out(row_costs_line(row_cost, len(spare)))
    figures: dict = {"rows": rows}
    if len(rows) >= 2:
        ratio = rows[-1]["due_s"] / rows[0]["due_s"]
        figures["ratio"] = ratio
        out(
            f"  ratio {rows[-1]['size']:,} ÷ {rows[0]['size']:,} item cases ({due:,} due): "
            f"{ratio:.2f}  (target ≈ 1)"
        )
    if rows:
        top = rows[-1]
        out(
            f"  sweep, {due:,} due at {top['size']:,}: {_ms(top['due_s'])}  (target ≤ 1 s: "
            f"{_meets(top['due_s'] <= 1)})"
        )
        slowest_idle = max(r["nothing_s"] for r in rows)
        out(
            f"  sweep, nothing due: {_ms(slowest_idle)}  (target ≤ 10 ms: "
            f"{_meets(slowest_idle <= 0.010)})"
        )
    if row_cost:
        figures["row_costs"] = row_cost
    if worst:
        size, n, seconds = worst
        figures["worst_rows_per_s"] = n / seconds
        out(
            f"  worst case, {n:,} due at {size:,}: {_ms(seconds)} = {n / seconds:,.0f} rows/s "
            f"(batches of 5,000, committed, the backlog on two connections; target ≥ 20,000 "
            f"rows/s: {_meets(n / seconds >= 20_000)})"
        )
    return figures


# -- P5: deadline arithmetic -------------------------------------------------------------------


def naive_add_working_days(cal, start, n):
    """The obvious day-by-day loop over the same calendar (as the property test's oracle)."""
    day, counted = cal.local(start).date(), 0
    while counted < n:
        day += timedelta(days=1)
        counted += cal.is_working_day(day)
    return cal.close_of_business(day)


def p5_arithmetic(
    size: int = 1_000_000,
    *,
    naive_size: int = 100_000,
    repeat: int = 3,
    seed: int = 5,
    cal=None,
    out: Callable[[str], None] | None = None,
) -> dict:
    """`size` "accepted at T + N working days" with `WorkCalendar.add_working_days`, against the
    day-by-day loop on the first `naive_size` of the same inputs, scaled to `size`."""
    from django.utils import timezone

    from kuaiban.catalog.models import ServiceItem
    from kuaiban.workdays.calendar import calendar_from_db
    from kuaiban.workdays.units import LimitUnit

    cal = cal or calendar_from_db()
    limits = sorted(
        {
            limit
            for unit, limit in ServiceItem.objects.values_list(
                "committed_unit", "committed_limit"
            ).union(ServiceItem.objects.values_list("statutory_unit", "statutory_limit"))
            if unit == LimitUnit.WORKING_DAYS and limit
        }
    ) or [5, 10, 20]
    rng = random.Random(seed)  # noqa: S311 - benchmark inputs
    end = timezone.now()
    start = end - timedelta(days=730)
    span = int((end - start).total_seconds() // 60)
    inputs = [
        (start + timedelta(minutes=rng.randrange(span)), rng.choice(limits)) for _ in range(size)
    ]
    add = cal.add_working_days

    def fast():
        for moment, n in inputs:
            add(moment, n)

    subset = inputs[: min(naive_size, size)]

    def naive():
        for moment, n in subset:
            naive_add_working_days(cal, moment, n)

    fast_s, _ = _median_time(fast, repeat)
    naive_subset_s, _ = _median_time(naive, max(1, repeat // 2))
    naive_s = naive_subset_s * size / len(subset)
    agree = all(add(m, n).at == naive_add_working_days(cal, m, n) for m, n in subset[:20_000])
    figures = {
        "size": size,
        "limits": limits,
        "fast_s": fast_s,
        "naive_subset": len(subset),
        "naive_subset_s": naive_subset_s,
        "naive_s": naive_s,
        "ratio": naive_s / fast_s,
        "agree": agree,
    }
    if out:
        scaled = (
            f"measured on the first {len(subset):,} inputs ({_ms(naive_subset_s)}) and scaled"
            if len(subset) < size
            else "measured on all inputs"
        )
        out(
            f"P5 deadline arithmetic: {size:,} × accepted at T + N working days "
            f"(T over two years, N in {limits}), medians of {repeat}"
        )
        out(
            f"  WorkCalendar.add_working_days: {_ms(fast_s)}  (target ≤ 2 s: {_meets(fast_s <= 2)})"
        )
        out(f"  day-by-day loop:               {_ms(naive_s)}  ({scaled})")
        out(
            f"  speed-up: {figures['ratio']:.1f}×; results agree on {min(20_000, len(subset)):,}"
            f" inputs: {agree}"
        )
    return figures


# -- running -----------------------------------------------------------------------------------

WORKLOADS: dict[str, Callable[[argparse.Namespace], object]] = {
    "p3": lambda args: p3_sweep(args.sizes, repeat=args.repeat, due=args.due),
    # P7 (rollup refresh) and P8 (recompute after a calendar edit) reuse P3's largest history.
    "p7": lambda args: __import__("p7_rollup").p7_rollup(args.cases, repeat=min(args.repeat, 3)),
    "p8": lambda args: __import__("p8_recompute").p8_recompute(args.cases),
    # P2 reads whatever P3 left (its largest size), generating what is missing to `--cases`.
    "p2": lambda args: _p2(args),
    # P4 runs after P3 (which empties the case tables) and generates the cases it needs.
    "p4": lambda args: _p4(args),
    "p5": lambda args: p5_arithmetic(
        args.p5_size, naive_size=args.p5_naive, repeat=args.repeat, out=print
    ),
    # P1 (`p1_submissions.py`): submissions over HTTP against gunicorn, and raw SQL.
    "p1": lambda args: __import__("p1_submissions").p1_submissions(
        args.p1_submissions or (400 if args.quick else 2000),
        concurrency=args.p1_concurrency,
        workers=args.p1_workers,
    ),
}


def _p2(args: argparse.Namespace):
    """Supervisor dashboard (quality.md P2): at least `--cases` item cases (with their ratings
    and follow-ups), rebuild the rollups, then the page vs its bare SQL."""
    from p2_dashboard import p2_dashboard  # bench/ is on sys.path when run as a script

    return p2_dashboard(samples=10 if args.quick else 30, cases=args.cases)


def _p4(args: argparse.Namespace):
    from p4_export import p4_export  # bench/ is on sys.path when run as a script

    return p4_export(10_000 if args.quick else 100_000, repeat=min(args.repeat, 3))


# The server settings the 1 M-case figures depend on (README: a quarter of the memory for
# shared_buffers); printed so a run is read with the database it ran on.
SERVER_SETTINGS = ("shared_buffers", "effective_cache_size", "max_wal_size", "work_mem")


def _server_settings(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name), pg_size_bytes(current_setting(name)) "
            "FROM pg_settings WHERE name = ANY(%s)",
            [list(SERVER_SETTINGS)],
        )
        rows = {name: (shown, size) for name, shown, size in cursor.fetchall()}
    line = "  server: " + ", ".join(f"{name} {rows[name][0]}" for name in SERVER_SETTINGS)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if rows["shared_buffers"][1] < memory // 8:
        line += (
            f" (below README's advice, a quarter of this machine's {memory / 2**30:.0f} GiB: "
            "at 1 M item cases the sweep and the recompute read from disk)"
        )
    return line


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="P3 item-case counts, comma-separated (100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="workloads, e.g. p3,p5")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per figure")
    parser.add_argument("--due", type=int, default=2000, help="P3 newly due clocks per sweep")
    parser.add_argument("--p1-submissions", type=int, help="P1 submissions (2000; quick 400)")
    parser.add_argument("--p1-concurrency", type=int, default=12, help="P1 client connections")
    parser.add_argument("--p1-workers", type=int, default=3, help="P1 gunicorn workers")
    parser.add_argument("--cases", type=int, help="P2/P7/P8 item cases (1000000; --quick 100000)")
    args = parser.parse_args(argv)
    if args.sizes:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.p5_size = 100_000 if args.quick else 1_000_000
    args.cases = args.cases or (100_000 if args.quick else 1_000_000)
    args.p5_naive = 20_000 if args.quick else 100_000
    args.only = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    unknown = set(args.only) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    _setup()
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    settings = connection.settings_dict
    print(
        f"Kuaiban benchmarks {timezone.localtime():%Y-%m-%d %H:%M} — PostgreSQL {version} "
        f"{settings['HOST']}:{settings['PORT']}/{settings['NAME']}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(_server_settings(connection))
    began = time.perf_counter()
    for name in args.only:
        print()
        WORKLOADS[name](args)
    print(f"\ntotal {time.perf_counter() - began:,.0f} s")


if __name__ == "__main__":
    main()
