"""The rollup: rebuilt from the case tables, refreshed for recent and touched days, idempotent."""

import io
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.utils import timezone

from acceptance import tasks
from acceptance.models import DASHBOARD_FIGURES, DailyCaseRollup, RollupState
from acceptance.rollups import day_runs, rollup_refresh, rollup_rows
from acceptance.selectors.common import Period
from acceptance.selectors.dashboard import dashboard
from kuaiban.catalog.models import District

from .conftest import PERIOD, at
from .direct import direct_counts

pytestmark = pytest.mark.django_db
END = at(2026, 11, 29, 22)


def rows():
    fields = ["day", "unit_id", "item_id", "bundle_id", "window_id", "hall_id", "district_id"]
    counts = [f.name for f in DailyCaseRollup._meta.fields if f.name not in ("id", *fields)]
    return sorted(
        tuple(r) for r in DailyCaseRollup.objects.values_list(*fields, *counts).order_by()
    )


def figures(filters=None):
    board = dashboard(filters or {}, Period(*PERIOD))
    return {f.key: f.value for f in board.figures}


def expected(filters=None):
    counts = direct_counts(filters or {}, *PERIOD)
    return {k: counts.get(k, 0) for k in DASHBOARD_FIGURES}


def test_day_runs_join_consecutive_days():
    from datetime import date

    days = [date(2026, 11, d) for d in (5, 3, 4, 9, 10, 20)]
    assert day_runs(days) == [
        (date(2026, 11, 3), date(2026, 11, 5)),
        (date(2026, 11, 9), date(2026, 11, 10)),
        (date(2026, 11, 20), date(2026, 11, 20)),
    ]
    assert day_runs([]) == []


def test_a_refresh_is_idempotent_and_the_first_one_is_full(history):
    with time_machine.travel(END, tick=False):
        first = rollup_refresh()
        assert first.full
        snapshot = rows()
        second = rollup_refresh()
        assert not second.full
        assert rows() == snapshot
        rollup_refresh(full=True)
        assert rows() == snapshot
    state = RollupState.objects.get(name="daily_case")
    assert state.refreshed_at == END and state.full_rebuild_at == END
    assert figures() == expected()


def test_a_refresh_rebuilds_the_older_days_a_change_touched(history):
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    before = figures()
    # 11-30: lic-open (accepted 11-03) is paused; "waiting" (received 11-27 online) is accepted
    # at the 邗江区 hall, which moves its received count to that district.
    with time_machine.travel(at(2026, 11, 30, 10), tick=False):
        history.pause("lic-open")
        history.accept("waiting", "HALL-321003")
        result = rollup_refresh(days=1)  # only today is "recent"
    assert not result.full
    after = figures()
    assert after["paused"] == before["paused"] + 1
    assert after == expected()
    hanjiang = {"district": District.objects.get(code="321003").pk}
    assert figures(hanjiang) == expected(hanjiang)
    # The same rows as a full rebuild.
    snapshot = rows()
    with time_machine.travel(at(2026, 11, 30, 10), tick=False):
        rollup_refresh(full=True)
    assert rows() == snapshot


def test_a_stale_rollup_lags_until_refreshed(history):
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    with time_machine.travel(at(2026, 11, 30, 10), tick=False):
        history.pause("lic-open")
    assert figures()["paused"] == expected()["paused"] - 1
    with time_machine.travel(at(2026, 11, 30, 10, 5), tick=False):
        tasks.refresh_rollups()
    assert figures() == expected()


def test_rollup_rows_skip_empty_combinations(history):
    from datetime import date

    assert rollup_rows([]) == []
    built = rollup_rows([(date(2026, 11, 3), date(2026, 11, 3))])
    assert built and all(r.day == date(2026, 11, 3) for r in built)


def test_the_command_and_the_beat_entry(history, capsys):
    with time_machine.travel(END, tick=False):
        call_command("refresh_rollups", "--all")
        assert "whole history" in capsys.readouterr().out
        call_command("refresh_rollups", "--days", "3")
        assert "recent and touched days" in capsys.readouterr().out
    assert figures() == expected()
    from kuaiban.celery import app

    entry = app.conf.beat_schedule["refresh-rollups"]
    assert entry["task"] == tasks.refresh_rollups.name == "acceptance.refresh_rollups"
    assert entry["schedule"] <= 15 * 60


def test_the_command_rebuilds_the_recent_days_and_says_what_it_wrote(history):
    def refresh(*args):
        out = io.StringIO()
        with time_machine.travel(END, tick=False):
            call_command("refresh_rollups", *args, stdout=out)
        return out.getvalue()

    first = refresh("--days", "4")  # nothing refreshed yet: the first run rebuilds everything
    assert "(whole history)" in first
    assert f"{DailyCaseRollup.objects.count()} rows" in first
    snapshot = rows()
    # Thursday 11-26 to Sunday 11-29, the last four days of the history.
    last_four_days = DailyCaseRollup.objects.filter(day__gte=date(2026, 11, 26))
    recent_rows = last_four_days.count()
    assert recent_rows > 0
    last_four_days.delete()

    again = refresh("--days", "4")

    assert f"(recent and touched days): 4 days, {recent_rows} rows" in again
    assert rows() == snapshot
    assert "(recent and touched days): 0 days, 0 rows" in refresh("--days", "0")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--days", "-1"], "--days must be 0 or more"),
        (["--all", "--days", "3"], "not allowed with argument"),
    ],
)
def test_the_command_refuses_contradictory_options_and_writes_nothing(args, complaint):
    with pytest.raises(CommandError, match=complaint):
        call_command("refresh_rollups", *args)
    assert not DailyCaseRollup.objects.exists()
    assert not RollupState.objects.exists()


def test_the_task_puts_the_first_dashboards_in_the_cache(history):
    from acceptance.page_cache import dashboard_cached, programme_cached
    from acceptance.selectors.common import default_period

    with time_machine.travel(END, tick=False):
        tasks.refresh_rollups()
        period = default_period()
        assert dashboard_cached({}, period).from_cache
        guangling = District.objects.get(code="321002").pk
        assert dashboard_cached({"district": guangling}, period).from_cache
        assert programme_cached(2026).bundles_in_service == 3


def test_refreshes_at_once_give_the_rows_of_one(committed_db, clerk_of, settings, tmp_path):
    """Real threads on PostgreSQL: the RollupState row lock serialises them."""
    import threading

    from django.db import connection

    from bundles.services import intake
    from tests.builders import single_item_submitted

    settings.MEDIA_ROOT = tmp_path
    clerk = clerk_of("LABOUR")
    for day in (2, 3, 4):
        with time_machine.travel(at(2026, 11, day, 10), tick=False):
            intake.application_accept(
                application=single_item_submitted("劳务派遣经营许可"), actor=clerk
            )
    barrier = threading.Barrier(4)
    errors = []

    def refresh(full):
        try:
            barrier.wait()
            with time_machine.travel(END, tick=False):
                rollup_refresh(full=full)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh, args=(k % 2 == 0,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    together = rows()
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    assert rows() == together
    assert sum(r[rows_index("accepted")] for r in together) == 3


def rows_index(name):
    fields = ["day", "unit_id", "item_id", "bundle_id", "window_id", "hall_id", "district_id"]
    counts = [f.name for f in DailyCaseRollup._meta.fields if f.name not in ("id", *fields)]
    return len(fields) + counts.index(name)


def _random_changes(history, rng):
    """Changes through the services on 11-30 … 12-15, a random subset in a random order: each
    touches cases of older days (acceptance days, received days, conclusion days)."""
    from bundles.services import intake
    from speedup.services.sweep import deadlines_sweep

    h = history

    def refuse_new():
        h.submit_bundle("refused-2", "B10")
        intake.application_refuse(
            application=h.apps["refused-2"],
            actor=h.clerk("HALL-CITY"),
            reason="不属于本市管辖",
            legal_basis="《行政许可法》第三十二条",
        )

    def licence_new():
        h.submit_item("lic-new", "劳务派遣经营许可")
        h.accept("lic-new", rng.choice(["HALL-321002", "HALL-321003"]))

    changes = [
        lambda: h.pause("lic-open"),
        lambda: h.accept("waiting", rng.choice(["HALL-321002", "HALL-321003", "HALL-CITY"])),
        lambda: h.approve("lic-fresh"),
        lambda: h.statutory("lic-breach"),
        lambda: h.visit("card-gl-1", "HALL-321002"),
        lambda: h.visit("jobless", "HALL-321002"),
        refuse_new,
        licence_new,
        deadlines_sweep,
    ]
    return rng.sample(changes, rng.randint(3, len(changes)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_routine_refresh_after_random_changes_equals_a_full_rebuild(history, seed):
    """The incremental refresh (only the touched day-and-item groups) leaves exactly the rows a
    full rebuild writes, on PostgreSQL, whatever changed and in whatever order."""
    import random

    rng = random.Random(seed)
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    changes = _random_changes(history, rng)
    moment = at(2026, 11, 30, 9)
    for n, change in enumerate(changes):
        moment = at(2026, 11, 30 + n // 3, 9) if n < 3 else at(2026, 12, 1 + n, 10)
        with time_machine.travel(moment, tick=False):
            change()
        if n % 2:  # a refresh between some of the changes, as beat does every few minutes
            with time_machine.travel(moment, tick=False):
                assert not rollup_refresh().full
    with time_machine.travel(moment, tick=False):
        result = rollup_refresh()
    assert not result.full
    incremental = rows()
    with time_machine.travel(moment, tick=False):
        rollup_refresh(full=True)
    assert rows() == incremental


def test_a_routine_refresh_rebuilds_only_the_groups_the_changed_cases_touch(history):
    """Its work follows the changed cases: one pause on a case accepted weeks ago rebuilds the
    rows of that case's (day, item) groups and leaves every other row as it was (same ids)."""
    with time_machine.travel(END, tick=False):
        rollup_refresh(full=True)
    before = dict(DailyCaseRollup.objects.values_list("pk", "day"))
    case = history.case("lic-open")
    with time_machine.travel(at(2026, 11, 30, 10), tick=False):
        history.pause("lic-open")
        result = rollup_refresh()
    assert not result.full
    case.refresh_from_db()
    anchor_days = {
        timezone.localtime(moment).date()
        for moment in (
            case.created_at,
            case.accepted_at,
            case.flag_50_at,
            case.flag_75_at,
            case.overdue_at,
            case.breach_at,
        )
        if moment
    }
    assert result.groups == len(anchor_days) and result.days == len(anchor_days)
    group = Q(item_id=case.item_id, day__in=anchor_days)
    rebuilt = DailyCaseRollup.objects.filter(group)
    assert result.rows == rebuilt.count() > 0
    assert not set(rebuilt.values_list("pk", flat=True)) & set(before)  # written anew
    # Every other row is the very row the full rebuild wrote.
    untouched = dict(DailyCaseRollup.objects.exclude(group).values_list("pk", "day"))
    assert untouched and set(untouched) <= set(before)
    assert len(before) - len(untouched) == rebuilt.count()  # the group's old rows, replaced
    assert rebuilt.get(day=timezone.localtime(case.accepted_at).date()).paused == 1
