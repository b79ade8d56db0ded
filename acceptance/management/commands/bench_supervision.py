"""Benchmark of the supervision dashboard (quality.md P2): prints figures, asserts nothing.

Run it against a database filled by `generate_history` (never production: it reads a lot):

    DJANGO_SETTINGS_MODULE=kuaiban.settings.test DATABASE_URL=… REDIS_URL=… \\
        python manage.py bench_supervision --rebuild

For a sample of filter combinations over the default four-week period it measures, side by side
in one run: the dashboard page (view + template + charts) computed from the rollup without the
cache, the same page served from the cache, the bare SQL the page needs (its captured queries
replayed through a cursor), and the figures computed live from the case table instead of the
rollup. Medians and 95th percentiles in milliseconds, and the ratios.
"""

import random
import statistics
import time
from datetime import timedelta

from django.core.cache import cache
from django.core.management import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acceptance import views
from acceptance.figures import ANCHORS, FIGURES, anchored, case_filter_q
from acceptance.rollups import rollup_refresh
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from kuaiban.accounts.models import Role, User
from kuaiban.cases.models import ItemCase
from kuaiban.catalog.models import Bundle, District, ServiceHall, ServiceItem, Unit, Window


def _ms(seconds: float) -> float:
    return seconds * 1000


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def live_figures(filters: dict, period: Period) -> dict[str, int]:
    """The dashboard's counts straight from the case table (what a page without the rollup
    would run): one aggregate query per anchor."""
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


class Command(BaseCommand):
    help = "Time the supervision dashboard over the current database (see the module docstring)."

    def add_arguments(self, parser):
        parser.add_argument("--samples", type=int, default=30, help="filter combinations")
        parser.add_argument("--days", type=int, default=28, help="period length in days")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--rebuild", action="store_true", help="time a full rebuild first")

    def out(self, text: str) -> None:
        self.stdout.write(text)

    def handle(self, *args, **options):
        rng = random.Random(options["seed"])  # noqa: S311 - sampling, not secrets
        cases = ItemCase.objects.count()
        self.out(f"item cases: {cases:,}")
        if options["rebuild"]:
            began = time.perf_counter()
            result = rollup_refresh(full=True)
            self.out(
                f"full rollup rebuild: {result.rows:,} rows over {result.days} days in "
                f"{time.perf_counter() - began:.1f} s"
            )
        began = time.perf_counter()
        result = rollup_refresh()
        self.out(
            f"routine refresh (recent + touched days): {result.days} days, {result.rows:,} rows "
            f"in {_ms(time.perf_counter() - began):.0f} ms"
        )

        today = timezone.localdate()
        period = Period(today - timedelta(days=options["days"] - 1), today)
        dims = {
            "unit": list(Unit.objects.values_list("pk", flat=True)),
            "item": list(ServiceItem.objects.values_list("pk", flat=True)),
            "bundle": list(Bundle.objects.values_list("pk", flat=True)),
            "window": list(Window.objects.values_list("pk", flat=True)),
            "hall": list(ServiceHall.objects.values_list("pk", flat=True)),
            "district": list(District.objects.values_list("pk", flat=True)),
        }
        combos = [{}]
        while len(combos) < options["samples"]:
            names = rng.sample(sorted(dims), rng.choice((1, 1, 2)))
            combos.append({name: rng.choice(dims[name]) for name in names})

        user = User(username="bench", role=Role.SUPERVISOR)  # never saved
        factory = RequestFactory()

        def page(filters) -> float:
            query = "&".join(f"{k}={v}" for k, v in filters.items())
            request = factory.get(
                f"/supervision/dashboard/?start={period.start}&end={period.end}&{query}"
            )
            request.user = user
            began = time.perf_counter()
            response = views.dashboard(request)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise CommandError(f"dashboard answered {response.status_code}")
            return elapsed

        timings: dict[str, list[float]] = {
            "page_uncached": [],
            "page_cached": [],
            "selector_uncached": [],
            "bare_sql": [],
            "live_counts": [],
        }
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

        self.out(
            f"\n{len(combos)} filter combinations, period {period.start} … {period.end} "
            f"({period.days} days); milliseconds"
        )
        self.out(f"{'':34}{'median':>10}{'p95':>10}")
        labels = {
            "page_uncached": "dashboard page, rollup, no cache",
            "page_cached": "dashboard page, from the cache",
            "selector_uncached": "dashboard() selector, no cache",
            "bare_sql": "bare SQL of that selector",
            "live_counts": "counts live from the case table",
        }
        for key, label in labels.items():
            values = [_ms(v) for v in timings[key]]
            self.out(f"{label:34}{statistics.median(values):10.1f}{_p95(values):10.1f}")
        med = {k: statistics.median(v) for k, v in timings.items()}
        self.out(
            f"\nratios (medians): page uncached ÷ bare SQL = "
            f"{med['page_uncached'] / med['bare_sql']:.2f}; live counts ÷ rollup bare SQL = "
            f"{med['live_counts'] / med['bare_sql']:.1f}; page uncached ÷ cached = "
            f"{med['page_uncached'] / med['page_cached']:.1f}"
        )
