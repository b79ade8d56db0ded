from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from kuaiban.catalog.selectors import published_bundles
from kuaiban.health import DOWN, OK, broker_status, cache_status, database_status
from kuaiban.workdays.selectors import calendar_coverage


def home(request):
    return render(request, "home.html", {"bundles": published_bundles()})


@never_cache
def health(request):
    """For monitors: the database, the cache (Redis), Celery's broker and calendar coverage.

    503 when the database, the cache or the broker is down. A missing calendar year is a
    warning (200, status "warning"), not an outage: deadlines still compute, provisionally,
    until an administrator loads the year.
    """
    parts = {
        "database": database_status(),
        "cache": cache_status(),
        "broker": broker_status(),
    }
    body: dict[str, object] = {**parts}
    if parts["database"] == OK:
        coverage = calendar_coverage()
        body["calendar"] = {
            "status": "ok" if coverage.ok else "warning",
            "horizon_start": coverage.start.isoformat(),
            "horizon_end": coverage.end.isoformat(),
            "missing_years": list(coverage.missing_years),
        }
        calendar_ok = coverage.ok
    else:
        body["calendar"] = {"status": "unknown"}  # read from the database
        calendar_ok = False
    if DOWN in parts.values():
        body["status"] = "down"
        return JsonResponse(body, status=503)
    body["status"] = "ok" if calendar_ok else "warning"
    return JsonResponse(body)
