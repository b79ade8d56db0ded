"""The history generator: realistic, consistent stored facts a sweep can work on."""

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from devtools import history as history_module
from devtools.history import history_generate
from kuaiban.accounts.identity import normalize_credit_code, normalize_resident_id
from kuaiban.accounts.models import Role, User
from kuaiban.cases import clocks, deadlines
from kuaiban.cases.audit import verify_chains
from kuaiban.cases.clocks import THRESHOLDS, flag_event_facts
from kuaiban.cases.models import (
    RUNNING_CLOCK_STATES,
    Application,
    CaseEvent,
    CaseState,
    EventAction,
    FlagKind,
    ItemCase,
)
from kuaiban.cases.references import REFERENCE_ALPHABET, reference_number
from kuaiban.catalog.models import BundleItem
from kuaiban.workdays.arithmetic import SHANGHAI
from kuaiban.workdays.calendar import calendar_from_db
from kuaiban.workdays.units import LimitUnit
from speedup.models import CaseFlag
from speedup.services.sweep import deadlines_sweep

pytestmark = pytest.mark.django_db
CASES = 300


@pytest.fixture
def history(db):
    """300 cases, half the applications open; thresholds of the last 3 days left unswept."""
    now = timezone.now()
    result = history_generate(
        cases=CASES, open_share=0.5, seed=7, now=now, sweep_lag=timedelta(days=3)
    )
    return now, result


@pytest.fixture
def rare_paths(db, monkeypatch):
    """300 cases where the rare paths are common: breaches, late decisions, pauses and
    statutory mode; most thresholds already swept."""
    for name, share in (
        ("BREACH_SHARE", 0.15),
        ("LATE_SHARE", 0.2),
        ("PAUSE_SHARE", 0.4),
        ("STATUTORY_MODE_SHARE", 0.25),
    ):
        monkeypatch.setattr(history_module, name, share)
    return history_generate(cases=CASES, open_share=0.3, seed=11, sweep_lag=timedelta(0))


def earliest_unfired(case):
    pending = [
        getattr(case, threshold)
        for _kind, threshold, fired in ((t.kind, t.at, t.fired) for t in THRESHOLDS)
        if getattr(case, fired) is None and getattr(case, threshold) is not None
    ]
    return min(pending, default=None)


def test_it_creates_exactly_the_requested_cases_each_in_its_application(history):
    _now, result = history
    assert result.cases == ItemCase.objects.count() == CASES
    assert Application.objects.count() == result.applications
    assert not Application.objects.filter(cases__isnull=True).exists()
    assert Application.objects.filter(bundle__isnull=False).exists()
    assert Application.objects.filter(item__isnull=False).exists()


def test_bundle_cases_are_the_bundle_items_its_answers_include(history):
    rules = {}
    for bundle_item in BundleItem.objects.select_related("condition"):
        rules.setdefault(bundle_item.bundle_id, []).append(bundle_item)
    for application in Application.objects.filter(bundle__isnull=False).prefetch_related("cases"):
        expected = {
            (bi.item_id, bi.stage)
            for bi in rules[application.bundle_id]
            if bi.applies(application.answers)
        }
        assert {(c.item_id, c.stage) for c in application.cases.all()} == expected
    for application in Application.objects.filter(item__isnull=False).prefetch_related("cases"):
        assert [c.item_id for c in application.cases.all()] == [application.item_id]


def test_every_running_case_waits_for_its_earliest_unfired_threshold(history):
    running = list(ItemCase.objects.filter(state__in=RUNNING_CLOCK_STATES))
    assert len(running) >= 20
    for case in running:
        assert case.accepted_at is not None and case.clock_start is not None
        assert case.next_flag_at == earliest_unfired(case), case.pk
    others = ItemCase.objects.exclude(state__in=RUNNING_CLOCK_STATES)
    assert not others.filter(next_flag_at__isnull=False).exists()


def test_decided_cases_have_handling_times_and_no_next_flag(history):
    decided = ItemCase.objects.filter(
        state__in=[CaseState.CONCLUDED, CaseState.APPROVED, CaseState.DENIED]
    )
    assert decided.filter(state=CaseState.CONCLUDED).count() >= 50
    for case in decided:
        assert case.handling_minutes is not None and case.handling_minutes >= 0
        assert case.handling_days is not None and case.handling_days >= 0
        assert case.accepted_at <= case.decided_at
        assert case.next_flag_at is None
    for case in decided.filter(state=CaseState.CONCLUDED):
        assert case.concluded_at == case.application.concluded_at >= case.decided_at
        assert case.completed_late == (
            case.committed_due_at is not None and case.decided_at > case.committed_due_at
        )
    assert not ItemCase.objects.filter(accepted_at__isnull=True, decided_at__isnull=False).exists()


def test_fired_flags_are_recorded_once_each_after_their_threshold(history):
    fired = 0
    for case in ItemCase.objects.prefetch_related("flags"):
        flags = {flag.kind: flag for flag in case.flags.all()}
        for kind, threshold, fired_field in ((t.kind, t.at, t.fired) for t in THRESHOLDS):
            at = getattr(case, fired_field)
            assert (at is not None) == (kind.value in flags), (case.pk, kind)
            if at is not None:
                fired += 1
                assert flags[kind.value].flagged_at == at > getattr(case, threshold)
    assert fired == CaseFlag.objects.count() > 0


def test_every_application_has_its_create_and_submit_events(history):
    for application in Application.objects.prefetch_related("events"):
        actions = [e.action for e in application.events.all()]
        assert actions[:2] == ["create", "submit"], application.reference
        if application.state == "concluded":
            assert {"accept", "conclude"} <= set(actions)


def test_generated_events_are_chained_per_application(history):
    """COPY goes through the chain's trigger like any insert: every generated event verifies."""
    result = verify_chains()
    assert result.breaks == []
    assert result.events == CaseEvent.objects.count() > 0
    assert result.chains == Application.objects.count()


# A Wednesday afternoon: the history the seed gives then is the same whenever the suite runs
# (generated at the real "now", whether thresholds fall in the last three days is luck).
SWEPT_AT = datetime(2026, 6, 17, 14, 0, tzinfo=SHANGHAI)


def test_a_sweep_afterwards_flags_only_running_cases_once(db):
    with time_machine.travel(SWEPT_AT, tick=False):
        history_generate(
            cases=CASES, open_share=0.5, seed=7, now=SWEPT_AT, sweep_lag=timedelta(days=3)
        )
        before = CaseFlag.objects.count()
        now = timezone.now()
        result = deadlines_sweep(now=now)
    assert result.total > 0  # the generator left the last 3 days' thresholds to the sweep
    new = CaseFlag.objects.filter(flagged_at=now).select_related("item_case")
    assert new.count() == result.total == CaseFlag.objects.count() - before
    assert all(flag.item_case.state in RUNNING_CLOCK_STATES for flag in new)
    assert CaseEvent.objects.filter(action="flag", at=now).count() == result.total
    assert deadlines_sweep(now=now).total == 0
    for case in ItemCase.objects.filter(state__in=RUNNING_CLOCK_STATES):
        assert case.next_flag_at == earliest_unfired(case)
        assert case.next_flag_at is None or case.next_flag_at > now


def test_generated_identities_are_valid_generated_and_encrypted(history):
    applicants = User.objects.filter(role__in=[Role.CITIZEN, Role.ENTERPRISE])
    assert applicants.count() >= 20
    for user in applicants.filter(role=Role.CITIZEN):
        assert normalize_resident_id(user.resident_id) == user.resident_id
        assert user.resident_id_hash
        assert not user.has_usable_password()
    for user in applicants.filter(role=Role.ENTERPRISE):
        assert normalize_credit_code(user.credit_code) == user.credit_code
    citizen = applicants.filter(role=Role.CITIZEN).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT resident_id FROM accounts_user WHERE id = %s", [citizen.pk])
        stored = cursor.fetchone()[0]
    assert citizen.resident_id not in stored  # encrypted at rest


def test_the_command_adds_history(db, capsys):
    call_command("generate_history", cases=25, seed=3, open_share=0.2)
    assert ItemCase.objects.count() == 25
    assert "25 item cases" in capsys.readouterr().out


def test_the_command_adds_to_what_is_there(db, capsys):
    call_command("generate_history", cases=25, seed=3)
    capsys.readouterr()
    before = ItemCase.objects.count()
    # The same seed again: generated keys must not collide with the first run's.
    call_command("generate_history", "--cases", "200", "--seed", "3", verbosity=0)
    assert ItemCase.objects.count() == before + 200
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1  # quietly: the summary, no progress lines
    assert printed[0].startswith("200 item cases (")


@pytest.mark.parametrize("option", [["--cases", "-1"], ["--open-share", "1.5"]])
def test_the_command_refuses_impossible_numbers_and_adds_nothing(db, option):
    with pytest.raises(CommandError, match="cases must be >= 0 and open_share between 0 and 1"):
        call_command("generate_history", "--cases", "10", *option)
    assert not ItemCase.objects.exists()
    assert not Application.objects.exists()


def _bench_module():
    path = Path(__file__).resolve().parents[2] / "bench" / "run.py"
    spec = importlib.util.spec_from_file_location("kuaiban_bench_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_p5_benchmark_runs_at_a_tiny_size(db):
    figures = _bench_module().p5_arithmetic(size=2000, naive_size=200, repeat=1)
    assert figures["size"] == 2000
    assert figures["agree"] is True
    assert figures["fast_s"] > 0 and figures["naive_s"] > 0
    assert figures["ratio"] > 0


def test_handling_times_are_what_record_handling_time_gives(rare_paths):
    decided = list(
        ItemCase.objects.filter(decided_at__isnull=False)
        .select_related("item")
        .prefetch_related("pauses")
    )
    paused = [c for c in decided if c.pauses.all()]
    units = {c.item.statutory_unit for c in paused}
    assert {LimitUnit.WORKING_DAYS, LimitUnit.CALENDAR_DAYS} <= units, "pauses of both units"
    for case in decided:
        stored = (case.handling_minutes, case.handling_days)
        clocks.record_handling_time(case, decided_at=case.decided_at)
        assert stored == (case.handling_minutes, case.handling_days), case.pk


def test_due_times_are_what_the_clock_rules_give_replayed(rare_paths):
    """Planned at acceptance (the original due times), statutory mode and pauses replayed by
    `clocks.clock_recompute`: nothing moves."""
    cal = calendar_from_db()
    cases = list(
        ItemCase.objects.filter(accepted_at__isnull=False)
        .select_related("item")
        .prefetch_related("pauses")
    )
    assert any(c.statutory_mode for c in cases)
    assert any(c.pauses.all() and c.pauses.all()[0].ended_at for c in cases)
    for case in cases:
        plan = deadlines.plan_clock(
            cal,
            deadlines.LimitPolicy.of(case.item),
            received_at=case.received_at,
            accepted_at=case.accepted_at,
        )
        assert (case.original_committed_due_at, case.original_statutory_due_at) == (
            plan.committed_due,
            plan.statutory_due,
        ), case.pk
        stored = (case.warn_50_at, case.warn_75_at, case.due_provisional)
        assert clocks.clock_recompute(case) is None, case.pk
        if not case.statutory_mode:  # a replay switches to statutory mode after the pauses
            assert stored == (case.warn_50_at, case.warn_75_at, case.due_provisional), case.pk


def test_every_flag_has_the_event_the_sweep_writes_for_all_four_kinds(rare_paths):
    flags = list(CaseFlag.objects.select_related("item_case"))
    assert {flag.kind for flag in flags} == set(FlagKind.values)
    events = {
        (event.item_case_id, event.data["kind"]): event
        for event in CaseEvent.objects.filter(action=EventAction.FLAG)
    }
    assert len(events) == CaseEvent.objects.filter(action=EventAction.FLAG).count() == len(flags)
    for flag in flags:
        event = events[(flag.item_case_id, flag.kind)]
        reason, data = flag_event_facts(flag.kind)
        assert (event.at, event.reason, event.data) == (flag.flagged_at, reason, data)
        assert event.application_id == flag.item_case.application_id
        assert event.actor_id is None


def test_references_are_the_portal_format_and_unique(history):
    references = list(Application.objects.values_list("reference", "created_at"))
    assert len({reference for reference, _created in references}) == len(references)
    for reference, created in references:
        suffix = reference[-6:]
        assert set(suffix) <= set(REFERENCE_ALPHABET)
        assert reference == reference_number(created, suffix)


def test_the_demo_s_history_is_added_once_with_its_rollup(db, capsys):
    """scripts/demo runs `generate_history --if-empty --refresh-rollups` at every start: the
    first adds the history and fills the dashboards' rollup, the next ones add nothing."""
    from acceptance.models import DailyCaseRollup

    call_command("generate_history", "--cases", "30", "--if-empty", "--refresh-rollups")
    assert ItemCase.objects.count() == 30 and DailyCaseRollup.objects.exists()
    capsys.readouterr()
    call_command("generate_history", "--cases", "30", "--if-empty")
    assert ItemCase.objects.count() == 30
    assert "nothing added" in capsys.readouterr().out
