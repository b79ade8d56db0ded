"""The deadline sweep: every threshold fires once, never on a stopped clock."""

import threading
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.utils import translation

from bundles.services import handling, intake
from kuaiban.cases.models import CaseEvent, EventAction, ItemCase
from kuaiban.notifications.models import Notification
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from speedup.models import CaseFlag
from speedup.services.sweep import deadlines_sweep
from tests.builders import accepted_instant_case, at, single_item_submitted
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def sweep_at(*args):
    with time_machine.travel(at(*args), tick=False):
        return deadlines_sweep()


def test_an_instant_case_31_minutes_old_is_flagged_overdue_once_and_supervisors_hear(
    clerk_of, reviewer_of, eager, django_capture_on_commit_callbacks
):
    supervisor = UserFactory(supervisor=True, email="supervisor@example.invalid")
    reviewer = reviewer_of("XXZX")
    case = accepted_instant_case()
    assert case.committed_due_at == at(2026, 11, 24, 10, 30)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_at(2026, 11, 24, 10, 31)
    assert result.marked["overdue"] >= 1
    assert result.marked["warn_50"] >= 1 and result.marked["warn_75"] >= 1
    case.refresh_from_db()
    assert case.overdue_at == at(2026, 11, 24, 10, 31)
    assert CaseFlag.objects.filter(item_case=case, kind="overdue").count() == 1
    assert CaseEvent.objects.filter(item_case=case, action="flag").count() == 3
    # One message per recipient and kind, naming the case: supervisors hear of the overdue one.
    in_app = Notification.objects.filter(recipient=supervisor, channel="in_app")
    assert in_app.count() == 1
    assert case.application.reference in in_app.get().body
    assert in_app.get().link == "/supervision/overdue/"
    reviewer_in_app = Notification.objects.filter(recipient=reviewer, channel="in_app")
    assert reviewer_in_app.count() == 3
    assert all(case.application.reference in n.body for n in reviewer_in_app)
    assert any(case.application.reference in m.body for m in mail.outbox)
    # Running it again changes nothing.
    assert sweep_at(2026, 11, 24, 10, 32).total == 0
    assert sweep_at(2026, 11, 24, 10, 32).total == 0
    assert CaseFlag.objects.filter(item_case=case).count() == 3


def test_flag_events_are_written_in_the_portals_language_whatever_is_active(clerk_of):
    case = accepted_instant_case()
    with translation.override("en"):
        sweep_at(2026, 11, 24, 10, 31)
    events = CaseEvent.objects.filter(item_case=case, action=EventAction.FLAG)
    assert {(e.data["kind"], e.reason) for e in events} == {
        ("warn_50", "承诺时限已过半"),
        ("warn_75", "承诺时限已过75%"),
        ("overdue", "已超期：超过承诺时限"),
    }
    assert all(e.at == at(2026, 11, 24, 10, 31) for e in events)


def test_warnings_fire_in_order_as_time_passes(clerk_of):
    case = accepted_instant_case()
    assert sweep_at(2026, 11, 24, 10, 10).total == 0
    sweep_at(2026, 11, 24, 10, 16)
    assert set(CaseFlag.objects.filter(item_case=case).values_list("kind", flat=True)) == {
        "warn_50"
    }
    sweep_at(2026, 11, 24, 10, 24)
    assert set(CaseFlag.objects.filter(item_case=case).values_list("kind", flat=True)) == {
        "warn_50",
        "warn_75",
    }
    case.refresh_from_db()
    assert case.next_flag_at == case.committed_due_at


def test_a_case_concluded_in_time_is_never_flagged(clerk_of, reviewer_of):
    case = accepted_instant_case()
    with time_machine.travel(at(2026, 11, 24, 10, 20), tick=False):
        for other in case.application.cases.select_related("unit"):
            handling.case_approve(case=other, actor=reviewer_of(other.unit.code))
    case.refresh_from_db()
    assert case.state == "concluded" and not case.completed_late
    assert sweep_at(2026, 11, 24, 18, 0).total == 0
    assert not CaseFlag.objects.filter(item_case=case).exists()


def test_a_case_concluded_late_is_recorded_as_completed_late(clerk_of, reviewer_of):
    case = accepted_instant_case()
    sweep_at(2026, 11, 24, 10, 45)
    with time_machine.travel(at(2026, 11, 24, 11, 0), tick=False):
        for other in case.application.cases.select_related("unit"):
            handling.case_approve(case=other, actor=reviewer_of(other.unit.code))
    case.refresh_from_db()
    assert case.state == "concluded" and case.completed_late


def test_a_paused_case_is_not_flagged_and_its_clock_moves(clerk_of, reviewer_of):
    with time_machine.travel(at(2026, 9, 24, 10, 0), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    reviewer = reviewer_of("LDGX")
    with time_machine.travel(at(2026, 9, 28, 9, 0), tick=False):
        handling.case_pause(case=case, actor=reviewer, kind="appraisal", reason="委托鉴定")
    assert sweep_at(2026, 10, 30, 9, 0).total == 0  # past every threshold, but paused
    assert not CaseFlag.objects.filter(item_case=case).exists()


def test_a_calendar_edit_moves_open_due_dates_with_an_explanation(clerk_of):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    before = case.committed_due_at  # 10 working days from Monday 11-23: 12-07
    assert before == at(2026, 12, 7, 17, 30)
    CaseDay = CalendarDay.objects.get(date=date(2026, 12, 1))
    CaseDay.kind, CaseDay.name = CalendarDay.Kind.CLOSURE, "台风停工"
    CaseDay.save()
    # The one path every calendar edit takes: the deadline engine hears of it and recomputes.
    assert calendar_edited(CalendarChange(days=frozenset({CaseDay.date}), background=False))
    case.refresh_from_db()
    assert case.committed_due_at == at(2026, 12, 8, 17, 30)
    assert (
        "日历变更" in case.deadline_notes
        and "2026-12-07 17:30 → 2026-12-08 17:30" in case.deadline_notes
    )
    assert CaseEvent.objects.filter(item_case=case, action="recompute").count() == 1


def test_a_recompute_keeps_the_original_due_time_of_a_case_in_statutory_mode(clerk_of, reviewer_of):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    handling.case_statutory_mode(case=case, actor=reviewer_of("LDGX"), reason="需现场核查")
    case.refresh_from_db()
    statutory = case.statutory_due_at
    assert case.original_committed_due_at == at(2026, 12, 7, 17, 30) != case.committed_due_at
    closure = CalendarDay.objects.get(date=date(2026, 12, 1))
    closure.kind, closure.name = CalendarDay.Kind.CLOSURE, "台风停工"
    closure.save()
    assert calendar_edited(CalendarChange(days=frozenset({closure.date}), background=False))
    case.refresh_from_db()
    assert case.committed_due_at == case.statutory_due_at > statutory
    assert case.original_committed_due_at == at(2026, 12, 8, 17, 30)  # the commitment's, moved


def test_a_provisional_due_date_is_recomputed_when_the_year_is_loaded(clerk_of):
    with time_machine.travel(at(2026, 12, 24, 10, 0), tick=False):
        application = single_item_submitted("劳务派遣经营许可")
        intake.application_accept(application=application, actor=clerk_of("LABOUR"))
    case = application.cases.get()
    assert case.due_provisional
    assert case.committed_due_at == at(2027, 1, 7, 17, 30)  # assumes 2027-01-01 is a workday
    # The State Council publishes 2027: New Year's Day is a holiday.
    day, rows = date(2027, 1, 1), []
    while day.year == 2027:
        kind = (
            "holiday"
            if day == date(2027, 1, 1)
            else ("workday" if day.weekday() < 5 else "weekend")
        )
        rows.append(CalendarDay(date=day, kind=kind, source="import"))
        day += timedelta(days=1)
    CalendarDay.objects.bulk_create(rows)
    calendar_edited(CalendarChange(years_loaded=frozenset({2027}), background=False))
    case.refresh_from_db()
    assert not case.due_provisional
    assert case.committed_due_at == at(2027, 1, 8, 17, 30)


def test_two_sweeps_at_once_give_one_flag(committed_db, clerk_of, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cases = [accepted_instant_case() for _ in range(3)]
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        barrier.wait()
        try:
            results.append(deadlines_sweep(now=at(2026, 11, 24, 11, 0)).total)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for case in cases:
        assert CaseFlag.objects.filter(item_case=case, kind="overdue").count() == 1
    open_flags = CaseFlag.objects.filter(item_case__application__in=[c.application for c in cases])
    assert sum(results) == open_flags.count()
    assert (
        ItemCase.objects.filter(pk__in=[c.pk for c in cases], overdue_at__isnull=True).count() == 0
    )


def test_the_sweep_marks_a_batch_in_the_same_number_of_queries_whatever_its_size(clerk_of):
    """Set-based on PostgreSQL: a batch costs the same statements for 1 due case or for 4 (and
    for thousands), never one per case."""
    from django.test.utils import CaptureQueriesContext

    UserFactory(supervisor=True, email="supervisor@example.invalid")
    queries = []
    for count, day in ((1, 24), (4, 25)):
        cases = [accepted_instant_case(at(2026, 11, day, 10)) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            result = sweep_at(2026, 11, day, 11)
        applications = [case.application for case in cases]
        overdue = ItemCase.objects.filter(application__in=applications, overdue_at__isnull=False)
        assert result.marked["overdue"] == overdue.count() >= count
        queries.append(len(captured.captured_queries))
        # Each fired flag once, with its event.
        flags = CaseFlag.objects.filter(item_case__application__in=applications)
        assert flags.count() == result.total
        events = CaseEvent.objects.filter(application__in=applications, action="flag")
        assert events.count() == result.total
    assert queries[0] == queries[1]


def batch_backends(monkeypatch) -> list[int]:
    """The database backend each sweep batch ran on, in order."""
    from speedup.services import sweep

    backends: list[int] = []
    mark = sweep._mark_and_record

    def spied(ids, now):
        backends.append(connection.connection.get_backend_pid())
        return mark(ids, now)

    monkeypatch.setattr(sweep, "_mark_and_record", spied)
    return backends


def test_a_backlog_is_swept_on_two_connections_each_flag_once(committed_db, clerk_of, monkeypatch):
    """Rule SWEEP-BACKLOG-TWO-CONNECTIONS: when the first batch is full (a backlog), the rest is
    swept on two more connections, each taking its share of the applications; every passed
    threshold fires exactly once, with its event, in chains that stay whole, and the events keep
    the request id. A sweep with nothing more than a batch due stays on its own connection."""
    from kuaiban.cases.audit import verify_chains
    from kuaiban.requestid import current_request_id

    cases = [accepted_instant_case() for _ in range(7)]
    backends = batch_backends(monkeypatch)
    token = current_request_id.set("req-sweep")
    try:
        with time_machine.travel(at(2026, 11, 24, 10, 31), tick=False):
            result = deadlines_sweep(batch=2)
    finally:
        current_request_id.reset(token)
    mine = connection.connection.get_backend_pid()
    assert backends[0] == mine and len(set(backends[1:]) - {mine}) == 2
    for case in cases:
        for kind in ("warn_50", "warn_75", "overdue"):
            assert CaseFlag.objects.filter(item_case=case, kind=kind).count() == 1
    # Whatever else was due (cases other tests committed) fired once too, with its event.
    fired_now = CaseFlag.objects.filter(flagged_at=at(2026, 11, 24, 10, 31))
    assert fired_now.count() == result.total >= 21
    assert not fired_now.values("item_case", "kind").annotate(n=Count("id")).filter(n__gt=1)
    events = CaseEvent.objects.filter(action=EventAction.FLAG, at=at(2026, 11, 24, 10, 31))
    assert events.count() == result.total
    assert set(events.values_list("request_id", flat=True)) == {"req-sweep"}
    assert verify_chains().breaks == []
    backends.clear()
    with time_machine.travel(at(2026, 11, 24, 10, 32), tick=False):
        assert deadlines_sweep(batch=2).total == 0
    assert backends == []  # nothing left due: the first read finds none


def test_with_one_batch_connection_a_backlog_is_swept_on_the_callers_own(
    committed_db, clerk_of, settings, monkeypatch
):
    """KUAIBAN_BATCH_CONNECTIONS=1: the backlog's batches run one after the other here."""

    settings.KUAIBAN_BATCH_CONNECTIONS = 1
    cases = [accepted_instant_case() for _ in range(5)]
    backends = batch_backends(monkeypatch)
    with time_machine.travel(at(2026, 11, 24, 10, 31), tick=False):
        deadlines_sweep(batch=2)
    assert len(backends) >= 3 and set(backends) == {connection.connection.get_backend_pid()}
    for case in cases:
        assert CaseFlag.objects.filter(item_case=case, kind="overdue").count() == 1
