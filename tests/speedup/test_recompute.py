"""A recompute after a calendar edit reads only the clocks spanning the edited days, in batches
that cost the same queries whatever their size, and gives what recomputing every clock gives."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bundles.services import handling
from kuaiban.cases.clocks import RECOMPUTED_FIELDS
from kuaiban.cases.models import OPEN_CASE_STATES, CaseEvent, ItemCase
from kuaiban.workdays.calendar import calendar_cache_invalidate, calendar_from_db
from kuaiban.workdays.models import CalendarDay
from speedup.services.recompute import open_clocks_recompute, open_clocks_to_recompute
from tests.builders import accepted, accepted_instant_case, case_of, single_item_submitted

SH = ZoneInfo("Asia/Shanghai")
EDITED = date(2026, 12, 1)  # a Tuesday, a working day until the typhoon closure
pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def act(when, call):
    with time_machine.travel(when, tick=False):
        return call()


def licence(when: datetime) -> ItemCase:
    from tests.builders import clerk_of

    application = act(when, lambda: single_item_submitted("劳务派遣经营许可"))
    return act(when, lambda: case_of(accepted(application, clerk_of("LABOUR"))))


@pytest.fixture
def clocks_around_the_edit(reviewer_of):
    """Open clocks of every kind: spanning 12-01 (plain, a pause ended, a pause still open,
    statutory mode, an approved extension) and not (an instant case long overdue, a licence
    overdue since October, one received after 12-01)."""
    reviewer, head = reviewer_of("LDGX"), reviewer_of("LDGX", head=True)
    cases = {"plain": licence(at(2026, 11, 23))}
    cases["paused"] = case = licence(at(2026, 11, 20))
    act(
        at(2026, 11, 23),
        lambda: handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证"),
    )
    act(at(2026, 11, 25), lambda: handling.case_resume(case=case, actor=reviewer))
    cases["still_paused"] = case = licence(at(2026, 11, 20))
    act(
        at(2026, 11, 24),
        lambda: handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证"),
    )
    cases["statutory"] = case = licence(at(2026, 11, 19))
    act(
        at(2026, 11, 20),
        lambda: handling.case_statutory_mode(case=case, actor=reviewer, reason="需现场核查"),
    )
    cases["extended"] = case = licence(at(2026, 11, 18))
    request = act(
        at(2026, 11, 19),
        lambda: handling.extension_request(case=case, actor=reviewer, reason="需补充听证"),
    )
    act(
        at(2026, 11, 20),
        lambda: handling.extension_decide(request=request, actor=head, approve=True),
    )
    cases["instant"] = accepted_instant_case(at(2026, 11, 24, 10))
    cases["october"] = licence(at(2026, 10, 12))
    cases["later"] = licence(at(2026, 12, 2))
    closure = CalendarDay.objects.get(date=EDITED)
    closure.kind, closure.name = CalendarDay.Kind.CLOSURE, "台风停工"
    closure.save()
    calendar_cache_invalidate()
    return cases


def open_clocks():
    """Every open clock as stored, with its notes and its recompute events."""
    rows = ItemCase.objects.filter(state__in=OPEN_CASE_STATES).order_by("pk")
    return [
        (
            case.pk,
            *(getattr(case, field) for field in RECOMPUTED_FIELDS),
            CaseEvent.objects.filter(item_case=case, action="recompute").count(),
        )
        for case in rows
    ]


def test_a_calendar_edit_recomputes_only_the_clocks_spanning_the_day_with_the_full_results(
    clocks_around_the_edit,
):
    cases = clocks_around_the_edit
    spanning = {"plain", "paused", "still_paused", "statutory", "extended"}
    targeted = set(open_clocks_to_recompute(days=[EDITED]).values_list("pk", flat=True))
    everything = set(open_clocks_to_recompute().values_list("pk", flat=True))
    assert {cases[name].pk for name in spanning} <= targeted
    outside = {cases[name].pk for name in ("instant", "october", "later")}
    assert outside <= everything and not outside & targeted
    before = open_clocks()
    with time_machine.travel(at(2026, 12, 2, 12), tick=False):
        try:
            with transaction.atomic():
                moved_targeted = open_clocks_recompute(days=[EDITED])
                after_targeted = open_clocks()
                raise Undo
        except Undo:
            pass
        assert open_clocks() == before
        moved_all = open_clocks_recompute()
    assert moved_targeted == moved_all >= 4
    for name in ("plain", "paused", "statutory", "extended"):
        assert "日历变更" in ItemCase.objects.get(pk=cases[name].pk).deadline_notes
    assert open_clocks() == after_targeted != before
    plain = ItemCase.objects.get(pk=cases["plain"].pk)
    assert plain.committed_due_at == at(2026, 12, 8, 17, 30)  # 12-07 before the closure


def test_a_recompute_batch_costs_the_same_queries_for_one_clock_as_for_all_of_them(
    clocks_around_the_edit, monkeypatch
):
    """Pauses, extensions and statutory-mode events are read per batch and the moved cases
    written in bulk: no query per case. The statutory-mode switches are read only in a batch
    holding a case in that mode: one query more, whatever the batch's size."""
    from speedup.services import recompute

    calendar_from_db()  # built once per process, not per batch
    per_batch: dict[int, list[tuple[int, bool]]] = {1: [], 100: []}
    run_batch = recompute._recompute_batch

    def counted(ids, cal):
        with CaptureQueriesContext(connection) as captured:
            moved = run_batch(ids, cal)
        if moved:  # a batch where nothing moved writes nothing
            statutory = ItemCase.objects.filter(pk__in=ids, statutory_mode=True).exists()
            per_batch[1 if len(ids) == 1 else 100].append(
                (len(captured.captured_queries), statutory)
            )
        return moved

    monkeypatch.setattr(recompute, "_recompute_batch", counted)
    for batch in (1, 100):
        try:
            with transaction.atomic():
                assert open_clocks_recompute(days=[EDITED], batch=batch) >= 4
                raise Undo
        except Undo:
            pass
    assert len(per_batch[1]) >= 4 and len(per_batch[100]) == 1
    (all_at_once, with_statutory) = per_batch[100][0]
    assert with_statutory
    assert {queries for queries, statutory in per_batch[1] if statutory} == {all_at_once}
    assert {queries for queries, statutory in per_batch[1] if not statutory} == {all_at_once - 1}


def test_a_committed_recompute_runs_its_batches_on_two_connections_with_the_same_results(
    committed_db, clocks_around_the_edit, monkeypatch
):
    """Rule RECOMPUTE-TWO-CONNECTIONS: run from a task (nothing uncommitted), the batches go two
    at a time on two database connections, and the clocks, their notes and their events come
    out as one connection gives them (inside a transaction the batches run on the caller's own
    connection, which sees its uncommitted work); the events keep the request id and every
    chain stays whole."""
    from kuaiban.cases.audit import verify_chains
    from kuaiban.requestid import current_request_id
    from speedup.services import recompute

    backends: set[int] = set()
    run_batch = recompute._recompute_batch

    def spied(ids, cal):
        moved = run_batch(ids, cal)
        backends.add(connection.connection.get_backend_pid())
        return moved

    monkeypatch.setattr(recompute, "_recompute_batch", spied)
    with time_machine.travel(at(2026, 12, 2, 12), tick=False):
        try:
            with transaction.atomic():
                on_one = open_clocks_recompute(days=[EDITED], batch=1)
                after_on_one = open_clocks()
                raise Undo
        except Undo:
            pass
        assert backends == {connection.connection.get_backend_pid()}
        backends.clear()
        token = current_request_id.set("req-recompute")
        try:
            on_two = open_clocks_recompute(days=[EDITED], batch=1)
        finally:
            current_request_id.reset(token)
    assert on_two == on_one >= 4
    assert len(backends) == 2 and connection.connection.get_backend_pid() not in backends
    assert open_clocks() == after_on_one
    events = CaseEvent.objects.filter(action="recompute")
    assert events.count() == on_two
    assert set(events.values_list("request_id", flat=True)) == {"req-recompute"}
    assert verify_chains().breaks == []
