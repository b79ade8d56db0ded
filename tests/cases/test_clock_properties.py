"""The clock's rules (`tests/cases/clock_rules.py`) hold after any sequence of what the staff do
to a case and of what happens to the calendar, over the real services on the real database.

A hypothesis state machine accepts one case of an item with a clock (working-day, calendar-day,
instant, statutory-mode and extensible items), then, with time passing between steps by random
office minutes or whole days (landing on evenings, weekends and holidays), pauses and resumes it,
switches it to the statutory limit, requests and decides extensions, asks another department,
closes a future working day or opens a future rest day (the calendar recompute runs), and sweeps.
Every example runs inside a savepoint that is rolled back, so the next one starts clean.

Longer searches: `CLOCK_MACHINE_EXAMPLES=500 CLOCK_MACHINE_STEPS=30 pytest <this file>`.
"""

import os
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bundles.services import handling, intake
from kuaiban.cases.models import (
    OPEN_CASE_STATES,
    RUNNING_CLOCK_STATES,
    CasePause,
    CaseState,
    ExtensionRequest,
    ItemCase,
)
from kuaiban.catalog.models import Unit
from kuaiban.workdays.calendar import calendar_cache_invalidate, calendar_from_db
from kuaiban.workdays.models import CalendarDay
from kuaiban.workdays.services import CalendarChange, calendar_edited
from speedup.models import CaseFlag
from speedup.services.sweep import deadlines_sweep
from tests.builders import clerk_of, reviewer_of, single_item_submitted

from .clock_rules import a_sweep_leaves_nothing_due_on_a_running_clock, check_clock_rules

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db

settings.register_profile(
    "clock-machine",
    max_examples=int(os.environ.get("CLOCK_MACHINE_EXAMPLES", "30")),
    stateful_step_count=int(os.environ.get("CLOCK_MACHINE_STEPS", "14")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

ITEMS = (
    "劳务派遣经营许可",  # 20 working days statutory, 10 committed, +10 working days
    "劳动能力鉴定",  # 60 calendar days statutory, 30 committed, +30 calendar days
    "特殊工种/病退退休审批",  # the catalog keeps the statutory limit (20 working days)
    "就业创业证申领",  # instant (30 office minutes), statutory 5 working days
    "单位参保登记",  # instant (30 office minutes), statutory 15 calendar days
)
ACCEPTED_AT = (
    datetime(2026, 11, 24, 10, 0, tzinfo=SH),  # an ordinary Tuesday morning
    datetime(2026, 11, 20, 17, 55, tzinfo=SH),  # Friday after closing
    datetime(2026, 2, 13, 11, 0, tzinfo=SH),  # Friday before Spring Festival (make-up Saturday)
    datetime(2026, 9, 30, 16, 0, tzinfo=SH),  # the day before the National Day week
    datetime(2026, 12, 24, 10, 0, tzinfo=SH),  # due times in 2027, not configured: provisional
)
# How long before acceptance the application arrived online (instant clocks start then).
SUBMITTED_BEFORE = (timedelta(0), timedelta(minutes=45), timedelta(hours=20))
TIMES_OF_DAY = (
    time(8, 30),
    time(9, 0),
    time(11, 59),
    time(12, 40),
    time(15, 10),
    time(17, 29),
    time(17, 55),
    time(21, 0),
)


class ClockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example in a savepoint, rolled back in teardown (calendar edits included).
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        calendar_cache_invalidate()
        self.case: ItemCase | None = None
        self.now: datetime | None = None
        self.steps = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        calendar_cache_invalidate()

    # -- helpers ----------------------------------------------------------------------------

    def _act(self, call):
        """Run a service at the current moment; then a second passes (two acts never share a
        timestamp, as in real life) and the case is read back."""
        with time_machine.travel(self.now, tick=False):
            result = call()
        self.now += timedelta(seconds=1)
        self.steps += 1
        self.case = ItemCase.objects.select_related("item").get(pk=self.case.pk)
        return result

    @property
    def state(self) -> str:
        return self.case.state

    # -- the case ---------------------------------------------------------------------------

    @initialize(
        item=st.sampled_from(ITEMS),
        accepted_at=st.sampled_from(ACCEPTED_AT),
        submitted_before=st.sampled_from(SUBMITTED_BEFORE),
    )
    def accept_a_case(self, item, accepted_at, submitted_before):
        with time_machine.travel(accepted_at - submitted_before, tick=False):
            application = single_item_submitted(item)
        case = application.cases.select_related("item", "unit").get()
        window = case.item.window.code
        self.reviewer = reviewer_of(case.unit.code)
        self.head = reviewer_of(case.unit.code, head=True)
        self.department = Unit.objects.filter(kind=Unit.Kind.EXTERNAL).first()
        self.case, self.now = case, accepted_at
        self._act(
            lambda: intake.application_accept(application=application, actor=clerk_of(window))
        )

    # -- time -------------------------------------------------------------------------------

    @rule(minutes=st.integers(1, 3 * 420))
    def office_time_passes(self, minutes):
        self.now = calendar_from_db().add_office_minutes(self.now, minutes).at

    @rule(days=st.integers(1, 9), at=st.sampled_from(TIMES_OF_DAY))
    def days_pass(self, days, at):
        day = self.now.astimezone(SH).date() + timedelta(days=days)
        self.now = datetime.combine(day, at, tzinfo=SH)

    # -- what the staff do ------------------------------------------------------------------

    @precondition(lambda self: self.state == CaseState.ACCEPTED)
    @rule()
    def start_review(self):
        self._act(lambda: handling.case_start_review(case=self.case, actor=self.reviewer))

    @precondition(lambda self: self.state in RUNNING_CLOCK_STATES)
    @rule(kind=st.sampled_from(CasePause.Kind.values))
    def pause(self, kind):
        self._act(
            lambda: handling.case_pause(
                case=self.case, actor=self.reviewer, kind=kind, reason="鉴定"
            )
        )

    @precondition(lambda self: self.state in RUNNING_CLOCK_STATES)
    @rule(kind=st.sampled_from(CasePause.Kind.values), until=st.sampled_from(TIMES_OF_DAY))
    def pause_for_part_of_the_day(self, kind, until):
        """A pause resumed the same day: before closing it takes no working day from a day
        clock, but its office minutes from an office-minute clock."""
        self.pause(kind)
        today = self.now.astimezone(SH).date()
        self.now = max(self.now, datetime.combine(today, until, tzinfo=SH))
        self.resume()

    @precondition(lambda self: self.state == CaseState.PAUSED)
    @rule()
    def resume(self):
        self._act(lambda: handling.case_resume(case=self.case, actor=self.reviewer))

    @precondition(
        lambda self: (
            self.state in OPEN_CASE_STATES
            and not self.case.statutory_mode
            and self.case.statutory_due_at is not None
        )
    )
    @rule()
    def keep_the_statutory_limit(self):
        self._act(
            lambda: handling.case_statutory_mode(
                case=self.case, actor=self.reviewer, reason="需现场核查"
            )
        )

    @precondition(
        lambda self: (
            self.state in OPEN_CASE_STATES
            and self.case.item.extension_allowed
            and not self.case.extensions.exclude(status=ExtensionRequest.Status.REJECTED).exists()
        )
    )
    @rule()
    def request_an_extension(self):
        self._act(
            lambda: handling.extension_request(
                case=self.case, actor=self.reviewer, reason="需补充听证"
            )
        )

    @precondition(
        lambda self: (
            self.state in OPEN_CASE_STATES
            and self.case.extensions.filter(status=ExtensionRequest.Status.REQUESTED).exists()
        )
    )
    @rule(approve=st.booleans())
    def the_unit_head_decides_the_extension(self, approve):
        request = self.case.extensions.get(status=ExtensionRequest.Status.REQUESTED)
        self._act(
            lambda: handling.extension_decide(request=request, actor=self.head, approve=approve)
        )

    @precondition(lambda self: self.state in (CaseState.ACCEPTED, CaseState.IN_REVIEW))
    @rule()
    def ask_another_department(self):
        self._act(
            lambda: handling.department_request_send(
                case=self.case, actor=self.reviewer, department=self.department, question="请核实"
            )
        )

    @precondition(
        lambda self: (
            self.state == CaseState.AWAITING_DEPARTMENT
            and self.case.department_requests.filter(replied_at=None).exists()
        )
    )
    @rule()
    def the_department_replies(self):
        request = self.case.department_requests.filter(replied_at=None).first()
        self._act(
            lambda: handling.department_reply_record(
                request=request, actor=self.reviewer, reply="情况属实"
            )
        )

    @precondition(
        lambda self: self.steps >= 8 and self.state in (CaseState.ACCEPTED, CaseState.IN_REVIEW)
    )
    @rule()
    def approve(self):
        self._act(lambda: handling.case_approve(case=self.case, actor=self.reviewer))

    # -- the calendar and the sweep ---------------------------------------------------------

    def _edit_day(self, day, kind):
        CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": "测试"})
        self._act(lambda: calendar_edited(CalendarChange(days=frozenset({day}), background=False)))

    @rule(ahead=st.integers(1, 30))
    def a_future_working_day_closes(self, ahead):
        cal, day = calendar_from_db(), self.now.astimezone(SH).date()
        for _ in range(ahead):
            day = cal.next_working_day(day, include_today=False)
        self._edit_day(day, CalendarDay.Kind.CLOSURE)

    @rule(ahead=st.integers(1, 40))
    def a_future_rest_day_becomes_a_working_day(self, ahead):
        cal, day = calendar_from_db(), self.now.astimezone(SH).date() + timedelta(days=ahead)
        while cal.is_working_day(day):
            day += timedelta(days=1)
        self._edit_day(day, CalendarDay.Kind.MAKEUP)

    @rule()
    def sweep(self):
        flags_before = CaseFlag.objects.filter(item_case=self.case).count()
        self._act(lambda: deadlines_sweep(now=self.now))
        if self.state == CaseState.PAUSED:
            assert CaseFlag.objects.filter(item_case=self.case).count() == flags_before
        a_sweep_leaves_nothing_due_on_a_running_clock(self.case, self.now - timedelta(seconds=1))

    # -- the rules --------------------------------------------------------------------------

    @invariant()
    def the_clock_rules_hold(self):
        if self.case is not None:
            check_clock_rules(self.case)


def test_the_clock_rules_hold_after_any_sequence_of_steps():
    run_state_machine_as_test(ClockMachine, settings=settings.get_profile("clock-machine"))
