from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from kuaiban.accounts.models import Role
from kuaiban.cases.selectors import unfinished_applications
from kuaiban.catalog.selectors import published_bundles
from kuaiban.commitments.selectors import hearings_awaiting
from kuaiban.health import DOWN, OK, broker_status, cache_status, database_status
from kuaiban.workdays.selectors import calendar_coverage


def home(request):
    """The start page; an applicant also finds what they left unfinished (继续办理) and what waits
    for them (我的待办): a returned application to correct, a notice to answer."""
    context: dict[str, object] = {"bundles": published_bundles()}
    user = request.user
    if user.is_authenticated and user.is_applicant:
        context["unfinished"] = list(unfinished_applications(user)[:5])
        context["hearings"] = list(hearings_awaiting(user))
    return render(request, "home.html", context)


# Where each kind of staff starts the day (the page after logging in, when none was asked for).
WORKBENCH = {
    Role.CLERK: "staff:intake",
    Role.REVIEWER: "staff:cases",
    Role.SUPERVISOR: "supervision:programme",
    Role.ADMINISTRATOR: "supervision:programme",
}


@login_required
def landing(request):
    """After logging in: staff on their workbench, applicants on the start page with their
    unfinished applications."""
    return redirect(WORKBENCH.get(request.user.role, "home"))


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
