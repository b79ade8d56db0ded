"""P2: the supervision dashboard (docs/quality.md). Prints figures, asserts nothing.

For a sample of filter combinations over a period ending today (four weeks by default) it
measures, side by side in one run: the dashboard page (view + template + charts) computed from
the rollup without the cache, the same page served from the cache, the `dashboard()` selector
alone, the bare SQL that selector runs (its captured queries replayed through a cursor), and the
same figures counted live from the case table instead of the rollup. Medians and 95th
percentiles in milliseconds, and the ratios.

Call after Django is set up on a benchmark database (bench/run.py's `_setup`); it reads the cases
already there (P3 leaves its largest size) and, given `cases`, first generates the item cases
missing to reach that many with `devtools.history` at its realistic open share. The generated
history carries its 好差评 (ratings of the concluded cases, follow-ups of bad reviews and missed
times), so the page's rating figures and their rollup are measured too. It clears the cache
between samples, so never point it at a shared cache.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from kuaiban.stats import percentile


def live_figures(filters: dict, period) -> dict[str, int]:
    """The dashboard's counts straight from the case table (what a page without the rollup
    would run): one aggregate query per anchor."""
    from django.db.models import Count

    from acceptance.figures import ANCHORS, FIGURES, anchored, case_filter_q

    result = {}
    for anchor in ANCHORS:
        figures = [f for f in FIGURES.values() if f.anchor == anchor]
        row = (
            anchored(anchor, [period.span])
            .filter(case_filter_q(filters))
            .aggregate(**{f"n_{f.key}": Count("pk", filter=f.condition or None) for f in figures})
        )
        result.update({k.removeprefix("n_"): v for k, v in row.items()})
    return result


def _filter_samples(samples: int, seed: int) -> list[dict]:
    """The whole city, then random one- or two-dimension filters."""
    from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit, Window

    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    dims = {
        "unit": list(Unit.objects.values_list("pk", flat=True)),
        "item": list(ServiceItem.objects.values_list("pk", flat=True)),
        "bundle": list(Bundle.objects.values_list("pk", flat=True)),
        "window": list(Window.objects.values_list("pk", flat=True)),
        "hall": list(ServiceHall.objects.values_list("pk", flat=True)),
        "district": list(District.objects.values_list("pk", flat=True)),
    }
    dims = {name: ids for name, ids in dims.items() if ids}
    combos: list[dict] = [{}]
    while len(combos) < samples and dims:
        names = rng.sample(sorted(dims), min(rng.choice((1, 1, 2)), len(dims)))
        combos.append({name: rng.choice(dims[name]) for name in names})
    return combos


def _page_timer(period) -> Callable[[dict], float]:
    """A function timing the dashboard view for some filters, as an unsaved supervisor."""
    from django.test import RequestFactory

    from acceptance import views
    from kuaiban.accounts.models import Role, User

    user = User(username="bench", role=Role.SUPERVISOR)  # never saved
    factory = RequestFactory()

    def page(filters: dict) -> float:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        request = factory.get(
            f"/supervision/dashboard/?start={period.start}&end={period.end}&{query}"
        )
        request.user = user
        began = time.perf_counter()
        response = views.dashboard(request)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"dashboard answered {response.status_code}")
        return elapsed

    return page


LABELS = {
    "page_uncached": "dashboard page, rollup, no cache",
    "page_cached": "dashboard page, from the cache",
    "selector_uncached": "dashboard() selector, no cache",
    "bare_sql": "bare SQL of that selector",
    "live_counts": "counts live from the case table",
}


def ensure_history(cases: int, out: Callable[[str], None], *, seed: int = 2) -> None:
    """Generate the item cases (with their ratings and follow-ups) missing to reach `cases`."""
    from devtools.history import history_generate
    from kuaiban.cases.models import ItemCase

    missing = cases - ItemCase.objects.count()
    if missing > 0:
        out(f"  generating {missing:,} item cases with their ratings and follow-ups …")
        began = time.perf_counter()
        result = history_generate(cases=missing, seed=seed)
        out(
            f"  generated in {time.perf_counter() - began:,.0f} s: {result.ratings:,} ratings, "
            f"{result.follow_ups:,} follow-ups"
        )


def p2_dashboard(
    *,
    samples: int = 30,
    days: int = 28,
    seed: int = 1,
    rebuild: bool = True,
    cases: int | None = None,
    out: Callable[[str], None] = print,
) -> dict:
    """Times of the dashboard over the current database (see the module docstring). Returns
    {"combinations", "median_ms": {…}, "p95_ms": {…}, "ratios": {…}} keyed as `LABELS`."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from acceptance.rollups import rollup_refresh
    from acceptance.selectors.common import Period
    from acceptance.selectors.dashboard import dashboard
    from kuaiban.cases.models import ItemCase
    from kuaiban.ratings.models import FollowUp, Rating

    if cases is not None:
        ensure_history(cases, out)
    out(
        f"P2 supervisor dashboard over {ItemCase.objects.count():,} item cases, "
        f"{Rating.objects.count():,} ratings, {FollowUp.objects.count():,} follow-ups"
    )
    if rebuild:
        began = time.perf_counter()
        result = rollup_refresh(full=True)
        out(
            f"  full rollup rebuild: {result.rows:,} rows (and {result.rating_rows:,} of the "
            f"rating rollup) over {result.days} days in {time.perf_counter() - began:.1f} s"
        )
    began = time.perf_counter()
    result = rollup_refresh()
    out(
        f"  routine refresh (recent + touched days): {result.days} days, {result.rows:,} rows "
        f"in {(time.perf_counter() - began) * 1000:.0f} ms"
    )

    today = timezone.localdate()
    period = Period(today - timedelta(days=days - 1), today)
    combos = _filter_samples(samples, seed)
    page = _page_timer(period)
    timings: dict[str, list[float]] = {key: [] for key in LABELS}
    page({})  # warm up imports, templates and the calendar
    for filters in combos:
        cache.clear()
        timings["page_uncached"].append(page(filters))
        timings["page_cached"].append(page(filters))
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            dashboard(filters, period)
            timings["selector_uncached"].append(time.perf_counter() - began)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute(query["sql"])
                cursor.fetchall()
        timings["bare_sql"].append(time.perf_counter() - began)
        began = time.perf_counter()
        live_figures(filters, period)
        timings["live_counts"].append(time.perf_counter() - began)

    median_ms = {key: statistics.median(v) * 1000 for key, v in timings.items()}
    p95_ms = {key: percentile(v, 0.95) * 1000 for key, v in timings.items()}
    ratios = {
        "page_uncached_to_bare_sql": median_ms["page_uncached"] / median_ms["bare_sql"],
        "live_counts_to_bare_sql": median_ms["live_counts"] / median_ms["bare_sql"],
        "page_uncached_to_cached": median_ms["page_uncached"] / median_ms["page_cached"],
    }
    out(
        f"  {len(combos)} filter combinations, period {period.start} … {period.end} "
        f"({period.days} days); milliseconds"
    )
    out(f"  {'':34}{'median':>10}{'p95':>10}")
    for key, label in LABELS.items():
        out(f"  {label:34}{median_ms[key]:10.1f}{p95_ms[key]:10.1f}")
    out(
        f"  ratios (medians): page uncached ÷ bare SQL = "
        f"{ratios['page_uncached_to_bare_sql']:.2f}; live counts ÷ rollup bare SQL = "
        f"{ratios['live_counts_to_bare_sql']:.1f}; page uncached ÷ cached = "
        f"{ratios['page_uncached_to_cached']:.1f}"
    )
    return {"combinations": len(combos), "median_ms": median_ms, "p95_ms": p95_ms, "ratios": ratios}
