from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from kuaiban.catalog.selectors import published_bundles
from kuaiban.workdays.selectors import calendar_coverage


def home(request):
    return render(request, "home.html", {"bundles": published_bundles()})


def health(request):
    """Liveness for monitors: the database answers, and the calendar covers the next 90 days.

    A missing calendar year is a warning (HTTP 200, status "warning"), not an outage: deadlines
    still compute, provisionally, until an administrator loads the year.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    coverage = calendar_coverage()
    body = {
        "status": "ok" if coverage.ok else "warning",
        "database": "ok",
        "calendar": {
            "horizon_start": coverage.start.isoformat(),
            "horizon_end": coverage.end.isoformat(),
            "missing_years": list(coverage.missing_years),
        },
    }
    return JsonResponse(body)
