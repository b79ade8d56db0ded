"""The stored clock (`kuaiban/cases/clocks.py`) through the handling services: the histories the
clock-rules machine (`test_clock_properties.py`) found broken, kept as plain examples."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bundles.services import handling
from kuaiban.cases import clocks
from kuaiban.cases.deadlines import warnings_between
from kuaiban.cases.models import CaseEvent, ItemCase
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from tests.builders import accepted, case_of, single_item_submitted

from .clock_rules import check_clock_rules

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def accepted_case(item: str, window: str, when: datetime, *, submitted_at=None) -> ItemCase:
    from tests.builders import clerk_of

    with time_machine.travel(submitted_at or when, tick=False):
        application = single_item_submitted(item)
    with time_machine.travel(when, tick=False):
        return case_of(accepted(application, clerk_of(window)))


def act(when: datetime, call):
    with time_machine.travel(when, tick=False):
        return call()


def fresh(case: ItemCase) -> ItemCase:
    return ItemCase.objects.select_related("item").get(pk=case.pk)


def recompute_moves_nothing(case: ItemCase) -> bool:
    return clocks.clock_recompute(fresh(case)) is None


def test_an_extension_in_statutory_mode_moves_the_committed_due_time_too(reviewer_of):
    case = accepted_case("劳务派遣经营许可", "LABOUR", at(2026, 9, 1))
    reviewer, head = reviewer_of("LDGX"), reviewer_of("LDGX", head=True)
    act(
        at(2026, 9, 2),
        lambda: handling.case_statutory_mode(case=case, actor=reviewer, reason="需现场核查"),
    )
    request = act(
        at(2026, 9, 3),
        lambda: handling.extension_request(case=case, actor=reviewer, reason="需补充听证"),
    )
    act(
        at(2026, 9, 4),
        lambda: handling.extension_decide(request=request, actor=head, approve=True),
    )
    case = fresh(case)
    # 20 working days from 09-01 (make-up Sunday 09-20 counts, 09-25 off): 09-29; +10 over
    # the National Day week (make-up Saturday 10-10 counts): 10-19.
    assert case.statutory_due_at == at(2026, 10, 19, 17, 30)
    assert case.committed_due_at == case.statutory_due_at
    assert (case.warn_50_at, case.warn_75_at) == warnings_between(
        calendar_from_db(), case.accepted_at, case.committed_due_at
    )
    assert case.next_flag_at == case.warn_50_at
    # The note says when in Beijing time (the value read back from the database is UTC).
    assert "承诺时限改为 2026-09-29 17:30" in case.deadline_notes
    assert recompute_moves_nothing(case)
    check_clock_rules(case)


def test_a_recompute_replays_statutory_mode_before_a_later_pause(reviewer_of):
    case = accepted_case("劳务派遣经营许可", "LABOUR", at(2026, 9, 1))
    reviewer = reviewer_of("LDGX")
    act(
        at(2026, 9, 2),
        lambda: handling.case_statutory_mode(case=case, actor=reviewer, reason="需现场核查"),
    )
    act(
        at(2026, 9, 3),
        lambda: handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证"),
    )
    act(at(2026, 9, 9), lambda: handling.case_resume(case=case, actor=reviewer))
    case = fresh(case)
    # 09-29, moved by 09-03, 04, 07, 08: 09-30, 10-08, 10-09 and the make-up Saturday 10-10.
    assert case.committed_due_at == case.statutory_due_at == at(2026, 10, 10, 17, 30)
    assert recompute_moves_nothing(case)
    check_clock_rules(case)


def test_an_instant_item_in_statutory_mode_counts_from_acceptance_as_a_replay_does(reviewer_of):
    """Received online at 09:15, accepted at 10:00: the instant clock ran from receipt, the
    statutory one from acceptance, whether switched live or planned again."""
    case = accepted_case(
        "就业创业证申领", "EMPLOY", at(2026, 11, 24, 10, 0), submitted_at=at(2026, 11, 24, 9, 15)
    )
    assert case.clock_start == at(2026, 11, 24, 9, 15)
    reviewer = reviewer_of(case.unit.code)
    act(
        at(2026, 11, 24, 10, 5),
        lambda: handling.case_statutory_mode(case=case, actor=reviewer, reason="情况复杂"),
    )
    case = fresh(case)
    assert case.clock_start == at(2026, 11, 24, 10, 0)
    assert case.committed_due_at == case.statutory_due_at == at(2026, 12, 1, 17, 30)
    assert recompute_moves_nothing(case)
    check_clock_rules(case)


def test_a_recompute_replays_an_extension_and_a_pause_in_the_order_they_happened(reviewer_of):
    """劳动能力鉴定 counts calendar days: an extension rolls a rest day forward, a pause moves by
    working days, so the order matters."""
    case = accepted_case("劳动能力鉴定", "SOCIAL", at(2026, 9, 1))
    reviewer, head = reviewer_of(case.unit.code), reviewer_of(case.unit.code, head=True)
    assert case.statutory_due_at == at(2026, 11, 2, 17, 30)  # 60 days: Saturday 10-31 → 11-02
    request = act(
        at(2026, 9, 2),
        lambda: handling.extension_request(case=case, actor=reviewer, reason="需补充鉴定"),
    )
    act(
        at(2026, 9, 2), lambda: handling.extension_decide(request=request, actor=head, approve=True)
    )
    act(
        at(2026, 9, 3),
        lambda: handling.case_pause(case=case, actor=reviewer, kind="appraisal", reason="鉴定"),
    )
    act(at(2026, 9, 9), lambda: handling.case_resume(case=case, actor=reviewer))
    case = fresh(case)
    # +30 days: 12-02; then the pause took 09-03, 04, 07, 08: four working days → 12-08.
    # (The other way round: 11-06, +30 days is Sunday 12-06 → 12-07.)
    assert case.statutory_due_at == at(2026, 12, 8, 17, 30)
    assert recompute_moves_nothing(case)
    check_clock_rules(case)


def test_a_closure_that_moves_only_the_warnings_is_saved_and_explained():
    """A calendar-day commitment keeps its due day when a day inside it closes, but less office
    time is left before it: the warnings move, and the recompute stores them."""
    case = accepted_case("劳动能力鉴定", "SOCIAL", at(2026, 9, 1))
    committed, statutory = case.committed_due_at, case.statutory_due_at
    before = (case.warn_50_at, case.warn_75_at)
    day = CalendarDay.objects.get(date=date(2026, 9, 15))
    day.kind, day.name = CalendarDay.Kind.CLOSURE, "台风停工"
    day.save()
    assert calendar_edited(CalendarChange(days=frozenset({day.date}), background=False))
    case = fresh(case)
    assert (case.committed_due_at, case.statutory_due_at) == (committed, statutory)
    assert (case.warn_50_at, case.warn_75_at) != before
    assert (case.warn_50_at, case.warn_75_at) == warnings_between(
        calendar_from_db(), case.clock_start, case.committed_due_at
    )
    assert case.next_flag_at == case.warn_50_at
    assert "预警时间调整" in case.deadline_notes
    assert CaseEvent.objects.filter(item_case=case, action="recompute").count() == 1
    check_clock_rules(case)


def test_same_day_pauses_never_push_an_instant_commitment_past_the_statutory_due(reviewer_of):
    """就业创业证申领: 30 office minutes committed, 5 working days statutory. A pause from opening
    to a minute before closing moves the minute clock by 419 office minutes, the day clock by
    none (no close of business came while it was stopped); six of them would put the promise
    after the law."""
    monday = at(2026, 11, 23, 9, 0)
    case = accepted_case("就业创业证申领", "EMPLOY", monday)
    reviewer = reviewer_of(case.unit.code)
    statutory = case.statutory_due_at
    assert statutory == at(2026, 11, 30, 17, 30)
    for day in (23, 24, 25, 26, 27, 30):
        act(
            at(2026, 11, day, 9, 0),
            lambda: handling.case_pause(case=case, actor=reviewer, kind="hearing", reason="听证"),
        )
        act(at(2026, 11, day, 17, 29), lambda: handling.case_resume(case=case, actor=reviewer))
        check_clock_rules(fresh(case))
    case = fresh(case)
    assert case.statutory_due_at == statutory
    assert case.committed_due_at == statutory  # not 12-01 09:24
    assert case.warn_50_at <= case.warn_75_at <= case.committed_due_at
