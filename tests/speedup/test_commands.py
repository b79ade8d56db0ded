"""The deadline engine's commands: `sweep_deadlines`, `recompute_deadlines` and the demo's timer
loop `run_timers`, as an operator sees them (what they print and what they change)."""

import io
import signal
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import call_command

from bundles.services import intake
from kuaiban.notifications.models import Notification
from kuaiban.workdays.calendar import calendar_cache_invalidate
from kuaiban.workdays.models import CalendarDay
from speedup.models import CaseFlag
from tests.builders import accepted_instant_case, at, single_item_submitted
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def command(name: str, *args, **options) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def restored_signals():
    """`run_timers` installs its own SIGINT/SIGTERM handlers; the test process gets its back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


# -- sweep_deadlines ---------------------------------------------------------------------------


def test_sweep_deadlines_flags_an_overdue_case_and_prints_the_count(clerk_of):
    case = accepted_instant_case()  # Tuesday 10:00, due 10:30
    with time_machine.travel(at(2026, 11, 24, 10, 31), tick=False):
        printed = command("sweep_deadlines")
    case.refresh_from_db()
    assert case.overdue_at == at(2026, 11, 24, 10, 31)
    assert CaseFlag.objects.filter(item_case=case, kind="overdue").count() == 1
    assert printed.startswith("flags fired: ")
    assert printed.endswith(f"(total {CaseFlag.objects.count()})\n")
    assert "'overdue': " in printed

    with time_machine.travel(at(2026, 11, 24, 10, 32), tick=False):
        assert command("sweep_deadlines").endswith("(total 0)\n")


# -- recompute_deadlines -----------------------------------------------------------------------


def licence_accepted(clerk_of, when):
    """A 劳务派遣经营许可 (10 working days) accepted at `when`; its case."""
    with time_machine.travel(when, tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    return application.cases.get()


def load_2027_and_close_a_day_unannounced():
    """2027 is published (New Year's Day a holiday) and 2026-12-01 becomes a closure, written
    straight to the table: no deadline engine heard of it, as when the worker was unreachable."""
    rows, day = [], date(2027, 1, 1)
    while day.year == 2027:
        kind = "workday" if day.weekday() < 5 else "weekend"
        kind = "holiday" if day == date(2027, 1, 1) else kind
        rows.append(CalendarDay(date=day, kind=kind, source="import"))
        day += timedelta(days=1)
    CalendarDay.objects.bulk_create(rows)
    CalendarDay.objects.filter(date=date(2026, 12, 1)).update(kind="closure", name="台风停工")
    calendar_cache_invalidate()  # what a fresh `manage.py` process starts with


def test_recompute_deadlines_moves_the_provisional_clocks_only_then_every_clock(clerk_of):
    provisional = licence_accepted(clerk_of, at(2026, 12, 24, 10, 0))
    settled = licence_accepted(clerk_of, at(2026, 11, 23, 10, 0))
    assert provisional.due_provisional
    assert provisional.committed_due_at == at(2027, 1, 7, 17, 30)  # 2027-01-01 assumed a workday
    assert not settled.due_provisional
    assert settled.committed_due_at == at(2026, 12, 7, 17, 30)
    load_2027_and_close_a_day_unannounced()

    assert command("recompute_deadlines", "--provisional-only") == "due times moved on 1 case(s)\n"
    provisional.refresh_from_db()
    settled.refresh_from_db()
    assert not provisional.due_provisional
    assert provisional.committed_due_at == at(2027, 1, 8, 17, 30)
    assert "2027-01-07 17:30 → 2027-01-08 17:30" in provisional.deadline_notes
    assert settled.committed_due_at == at(2026, 12, 7, 17, 30)  # not provisional: left alone

    assert command("recompute_deadlines") == "due times moved on 1 case(s)\n"
    settled.refresh_from_db()
    assert settled.committed_due_at == at(2026, 12, 8, 17, 30)  # the closure counts now
    assert command("recompute_deadlines") == "due times moved on 0 case(s)\n"


# -- run_timers --------------------------------------------------------------------------------


def test_the_demo_timer_loop_runs_beats_schedule_in_process(clerk_of, capsys, restored_signals):
    """Without Redis, `run_timers` runs the same beat schedule: the sweep flags what is due."""
    case = accepted_instant_case(when=at(2026, 11, 20, 10, 0))
    call_command("run_timers", once=True)
    case.refresh_from_db()
    assert case.overdue_at is not None  # 2026-11-20 10:30 is long past


def test_a_failing_timer_is_reported_and_the_others_still_run(
    clerk_of, monkeypatch, restored_signals
):
    case = accepted_instant_case(when=at(2026, 11, 20, 10, 0))
    message = Notification.objects.create(
        recipient=UserFactory(citizen=True), channel="in_app", subject="提醒", body="请补正材料"
    )

    def broken_sweep(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("speedup.tasks.deadlines_sweep", broken_sweep)
    out, err = io.StringIO(), io.StringIO()
    call_command("run_timers", once=True, stdout=out, stderr=err)

    assert "sweep-deadlines failed: RuntimeError('database went away')" in err.getvalue()
    case.refresh_from_db()
    assert case.overdue_at is None
    message.refresh_from_db()
    assert message.sent_at is not None  # the notification timer ran after the failed sweep
    assert "dispatch-notifications: " in out.getvalue()
