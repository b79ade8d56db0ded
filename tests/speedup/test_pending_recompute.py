"""A calendar edit in the admin owes a recompute of the open clocks in the database
(`ClockRecompute`) and wakes a worker for it; with the broker down the save answers at once, the
recompute waits in the table and the next deadline sweep runs it, once."""

import time
from datetime import date

import pytest
import time_machine
from django.test import override_settings

from bundles.services import intake
from kuaiban.cases.models import CaseEvent
from kuaiban.workdays.calendar import calendar_cache_invalidate
from kuaiban.workdays.models import CalendarDay, OfficeHoursPeriod
from speedup.models import ClockRecompute
from speedup.services.recompute import recomputes_run_pending
from speedup.tasks import sweep_deadlines
from tests.builders import at, single_item_submitted

pytestmark = pytest.mark.django_db
DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


@pytest.fixture
def licence_case(clerk_of):
    """A licence accepted on Monday 2026-11-23, due 10 working days later: 12-07 17:30."""
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    assert case.committed_due_at == at(2026, 12, 7, 17, 30)
    return case


def close_december_first(admin_client):
    day = CalendarDay.objects.get(date=date(2026, 12, 1))
    return admin_client.post(
        f"/admin/workdays/calendarday/{day.pk}/change/",
        {"date": "2026-12-01", "kind": CalendarDay.Kind.CLOSURE, "name": "台风停工"},
    )


def test_with_the_broker_down_a_calendar_edit_answers_fast_and_the_sweep_recomputes_later(
    admin_client, licence_case, django_capture_on_commit_callbacks
):
    with override_settings(CELERY_BROKER_URL=DEAD):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = close_december_first(admin_client)
        elapsed = time.monotonic() - started
    assert response.status_code == 302 and elapsed < 2.0
    owed = ClockRecompute.objects.get()
    assert owed.finished_at is None and not owed.provisional_only  # queued in the database
    licence_case.refresh_from_db()
    assert licence_case.committed_due_at == at(2026, 12, 7, 17, 30)  # not yet
    # The broker is back: beat's next sweep runs the owed recompute before sweeping.
    with time_machine.travel(at(2026, 11, 30, 10, 0), tick=False):
        sweep_deadlines.apply()
    licence_case.refresh_from_db()
    assert licence_case.committed_due_at == at(2026, 12, 8, 17, 30)
    owed.refresh_from_db()
    assert owed.finished_at is not None and owed.moved == 1
    assert recomputes_run_pending() == 0  # once
    assert CaseEvent.objects.filter(item_case=licence_case, action="recompute").count() == 1


def test_with_the_broker_down_the_recompute_action_tells_the_administrator(admin_client):
    admin_client.cookies["django_language"] = "en"  # the language switch
    with override_settings(CELERY_BROKER_URL=DEAD):
        response = admin_client.post(
            "/admin/workdays/officehoursperiod/",
            {
                "action": "recompute_open_deadlines",
                "_selected_action": [OfficeHoursPeriod.objects.first().pk],
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "recomputed by the next deadline sweep" in response.content.decode()
    assert ClockRecompute.objects.filter(finished_at__isnull=True).count() == 1


def test_pending_recomputes_are_run_together_and_provisional_only_when_all_asked_for_that(
    licence_case,
):
    ClockRecompute.objects.create(provisional_only=True)
    ClockRecompute.objects.create(provisional_only=False)
    closure = CalendarDay.objects.get(date=date(2026, 12, 1))
    closure.kind = CalendarDay.Kind.CLOSURE
    closure.save()
    calendar_cache_invalidate()
    assert recomputes_run_pending() == 1  # every clock, since one row asked for every clock
    assert not ClockRecompute.objects.filter(finished_at__isnull=True).exists()
