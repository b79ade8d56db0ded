"""Real threads and row locks on PostgreSQL: many hands on one application, one effect."""

import threading

from django.db import connection
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from bundles.services import intake, submission
from kuaiban.cases.models import Application, CaseEvent
from tests.builders import ready_application

THREADS = 20


def run_at_once(work, n=THREADS):
    """Start n threads together; each returns 'ok' or 'conflict'."""
    barrier = threading.Barrier(n)
    results = []

    def runner():
        barrier.wait()
        try:
            work()
            results.append("ok")
        except (TransitionNotAllowed, ConcurrentTransition):
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_twenty_clerks_accepting_at_once_accept_once(committed_db, clerk_of, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from tests.factories import UserFactory

    user = UserFactory(citizen=True)
    application = ready_application(user, "B03")
    submission.application_submit(application=application, actor=user)
    clerk = clerk_of("BUNDLE")

    results = run_at_once(
        lambda: intake.application_accept(
            application=Application.objects.get(pk=application.pk), actor=clerk
        )
    )
    assert sorted(results) == ["conflict"] * (THREADS - 1) + ["ok"]
    assert Application.objects.get(pk=application.pk).state == "accepted"
    stage_one = application.cases.filter(stage=1)
    for case in stage_one:
        assert CaseEvent.objects.filter(item_case=case, action="accept").count() == 1
    assert (
        CaseEvent.objects.filter(application=application, item_case=None, action="accept").count()
        == 1
    )


def test_a_double_submit_from_two_tabs_opens_the_cases_once(committed_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from tests.factories import UserFactory

    user = UserFactory(citizen=True)
    application = ready_application(user, "B10")
    results = run_at_once(
        lambda: submission.application_submit(
            application=Application.objects.get(pk=application.pk), actor=user
        ),
        n=5,
    )
    assert results == ["ok"] * 5  # the late ones see it submitted and change nothing
    assert CaseEvent.objects.filter(application=application, action="submit").count() == 1
    planned = application.cases.count()
    assert planned > 0
    assert (
        CaseEvent.objects.filter(application=application, action="create")
        .exclude(item_case=None)
        .count()
        == planned
    )
