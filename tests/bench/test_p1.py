"""Smoke test of bench/p1_submissions.py: 20 real submissions over HTTP against gunicorn (one
worker) on the test database and Redis, and the raw SQL replay of the same writes. The figures
are for `bench/run.py --only p1`; what is checked is that the block is printed, nothing failed,
and the submissions landed in the database with their item cases."""

import os

import pytest
import redis
from django.conf import settings

from kuaiban.accounts.models import User
from kuaiban.cases.models import Application, ApplicationState, CaseEvent, EventAction, ItemCase


@pytest.mark.django_db(transaction=True)
def test_p1_submits_over_http_and_replays_the_same_writes_in_raw_sql(committed_db):
    from bench.p1_submissions import p1_submissions

    lines: list[str] = []
    figures = p1_submissions(20, concurrency=4, workers=1, warmup=2, out=lines.append)
    if settings.REDIS_URL:  # the deliveries the submissions queued; no worker runs here
        redis.Redis.from_url(settings.REDIS_URL).delete("celery")

    assert lines[0].startswith(
        "P1 bundle submissions over HTTP: 20 submissions, 4 concurrent, 1 gunicorn workers: "
    )
    assert "errors 0; raw SQL: " in lines[0] and "; ratio " in lines[0]
    assert figures["errors"] == 0 and figures["rate"] > 0 and figures["raw_rate"] > 0
    assert 0 < figures["p50"] <= figures["p95"]
    # Where the CPU went: the workers did the submissions' Python, the client sent them, the
    # rest of the machine is PostgreSQL's share (and Redis's); the ceilings follow.
    spent = [figures[f"cpu_{part}_ms"] for part in ("web", "client", "database")]
    assert all(ms > 0 for ms in spent) and 0 < figures["busy"] <= 1
    cores = os.cpu_count() or 1
    assert figures["cpu_bound_rate"] == pytest.approx(cores * 1000 / sum(spent))
    assert figures["database_bound_rate"] == pytest.approx(cores * 1000 / spent[2])
    assert "CPU per submission: gunicorn's workers " in lines[3]
    # The floor: the same POSTs again, each answered by a redirect to the status page.
    assert figures["floor_errors"] == 0 and figures["floor_rate"] > 0
    assert figures["floor_web_ms"] > 0
    assert lines[4].startswith("  floor: the same 20 POSTs again, each application now submitted")
    assert "a submission's own work" in lines[4] and "200/s on " in lines[4]
    # B07 with every question answered no: four item cases per submission.
    assert figures["cases_each"] == 4
    assert figures["landed"] == (20, 80) and figures["raw_landed"] == (20, 80)
    # In the database: the 2 warm-up and 20 timed submissions over HTTP and 20 raw ones, each
    # with its cases and their creation events; the template stays a draft.
    p1_users = User.objects.filter(username__contains="-p1-")
    assert p1_users.count() == 1 + 2 + 2 * 20
    submitted = Application.objects.filter(applicant__in=p1_users, state=ApplicationState.SUBMITTED)
    assert submitted.count() == 42
    assert ItemCase.objects.filter(application__in=submitted).count() == 42 * 4
    events = CaseEvent.objects.filter(application__in=submitted)
    assert events.filter(action=EventAction.SUBMIT).count() == 42
    assert events.filter(action=EventAction.CREATE, item_case__isnull=False).count() == 42 * 4
    assert Application.objects.filter(applicant__in=p1_users).count() == 43
