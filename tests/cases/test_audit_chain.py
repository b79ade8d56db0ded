"""The event log's hash chain: every event, whoever wrote it (a service, the sweep's INSERT …
SELECT, the history generator's COPY), carries its predecessor's hash in its application's chain,
and concurrent writers never fork a chain."""

import itertools
import os
import sqlite3
import subprocess
import sys
import threading

import pytest
import time_machine
from django.db import connection, transaction

from bundles.services import handling
from kuaiban.cases.audit import GENESIS, event_hash, verify_chains
from kuaiban.cases.events import record_event, record_system_events
from kuaiban.cases.models import CaseEvent, EventAction
from speedup.services.sweep import deadlines_sweep
from tests.builders import accepted_instant_case, at, reviewer_of
from tests.production_env import PROJECT

pytestmark = pytest.mark.django_db

# Two events of one application written in a transaction that is rolled back (SQLite checks
# the foreign keys at commit): the trigger fills the hashes and links the second to the first.
SQLITE_CHAIN_CHECK = """
from django.db import transaction
from kuaiban.cases.models import CaseEvent
with transaction.atomic():
    first = CaseEvent.objects.create(application_id=1, action="visit")
    second = CaseEvent.objects.create(application_id=1, action="visit")
    first.refresh_from_db()
    second.refresh_from_db()
    print(bool(first.hash), first.prev_hash == "", second.prev_hash == first.hash)
    transaction.set_rollback(True)
"""


def chain(application_id):
    return list(CaseEvent.objects.filter(application_id=application_id).order_by("id"))


def test_each_event_chains_to_the_previous_event_of_its_application(clerk_of):
    case = accepted_instant_case()
    with time_machine.travel(at(2026, 11, 24, 11, 0), tick=False):
        assert deadlines_sweep().total >= 3  # the sweep's set-based INSERT
    handling.case_start_review(case=case, actor=reviewer_of("XXZX"))
    events = chain(case.application_id)
    assert len(events) >= 8
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash != ""
    # The database's hash is the one the Python verifier recomputes.
    fields = CaseEvent.objects.filter(pk=events[-1].pk).values()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM cases_caseevent WHERE id = %s", [events[-1].pk])
        fields["data"] = cursor.fetchone()[0]
    assert event_hash(fields, events[-1].prev_hash) == events[-1].hash
    result = verify_chains()
    assert result.breaks == [] and result.events == CaseEvent.objects.count()


def test_a_hash_sent_by_the_writer_is_replaced_by_the_chains(clerk_of):
    case = accepted_instant_case()
    forged = CaseEvent.objects.create(
        application=case.application, action=EventAction.VISIT, prev_hash="0" * 64, hash="f" * 64
    )
    forged.refresh_from_db()
    assert forged.prev_hash == chain(case.application_id)[-2].hash
    assert forged.hash != "f" * 64
    assert verify_chains(application_id=case.application_id).breaks == []


def test_system_events_written_together_chain_in_the_order_given(clerk_of):
    """A recompute's events for many cases (one statement): each in its application's chain, in
    the order passed, with no actor."""
    first, second = accepted_instant_case(), accepted_instant_case()
    rows = [
        (second.application_id, second.pk, "日历变更 2"),
        (first.application_id, first.pk, "日历变更 1"),
        (second.application_id, second.pk, "日历变更 3"),
    ]
    moment = at(2026, 11, 24, 12)
    record_system_events(EventAction.RECOMPUTE, rows, at=moment)
    written = list(CaseEvent.objects.filter(action=EventAction.RECOMPUTE).order_by("id"))
    assert [(e.application_id, e.item_case_id, e.reason) for e in written] == rows
    assert all(e.actor_id is None and e.at == moment and e.data == {} for e in written)
    assert chain(second.application_id)[-1].reason == "日历变更 3"
    assert verify_chains().breaks == []


def test_chains_are_per_application(clerk_of):
    first, second = accepted_instant_case(), accepted_instant_case()
    for application_id in (first.application_id, second.application_id):
        assert chain(application_id)[0].prev_hash == GENESIS
    result = verify_chains()
    assert result.chains == 2 and result.breaks == []


def test_concurrent_writers_to_one_application_never_fork_its_chain(
    committed_db, settings, tmp_path
):
    """Each writer holds the chain until it commits; ids are drawn under that lock, so a writer
    that began first but appended second still lands after the other in id order."""
    settings.MEDIA_ROOT = tmp_path
    application = accepted_instant_case().application
    barrier = threading.Barrier(4)
    VISIT = EventAction.VISIT
    errors = []

    def writer(n):
        try:
            barrier.wait()
            for i in range(5):
                with transaction.atomic():
                    for part in "ab":
                        reason = f"{n}.{i}{part}"
                        record_event(application=application, action=VISIT, reason=reason)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    events = chain(application.pk)
    assert len({e.prev_hash for e in events}) == len(events)  # no two events share a parent
    result = verify_chains(application_id=application.pk)
    assert result.breaks == [] and result.events == len(events)


# The demo's history with a month of thresholds left unswept, then one sweep.
SQLITE_SWEEP_CHECK = """
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from devtools.history import history_generate
from kuaiban.cases.audit import verify_chains
from kuaiban.cases.models import CaseEvent
from speedup.services.sweep import deadlines_sweep
call_command("load_reference_data", verbosity=0)
now = timezone.now()
history_generate(cases=200, open_share=0.5, seed=7, now=now, sweep_lag=timedelta(days=30))
flags = CaseEvent.objects.filter(action="flag")
before = flags.count()
fired = deadlines_sweep(now=now).total
print(fired > 0, flags.count() - before == fired, verify_chains().breaks == [])
"""


def test_the_demos_sqlite_log_keeps_its_chain_trigger_through_every_migration(tmp_path):
    """The embedded default (SQLite) rebuilds a table for many an AlterField, and a rebuilt table
    has lost its triggers: after all the migrations the log still chains its events."""
    database = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "kuaiban.settings.test",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=PROJECT, env=env, check=True, timeout=600)
    with sqlite3.connect(database) as db:
        triggers = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            ["cases_caseevent"],
        ).fetchall()
    assert triggers == [("cases_caseevent_chain",)]

    def last_line(script: str) -> list[str]:
        """The words of the last line a script printed in `manage.py shell` on that database."""
        done = subprocess.run(
            [*manage, "shell", "-v0", "-c", script],
            cwd=PROJECT,
            env=env,
            check=True,
            timeout=600,
            capture_output=True,
            text=True,
        )
        return done.stdout.splitlines()[-1].split()

    assert last_line(SQLITE_CHAIN_CHECK) == ["True", "True", "True"]
    # The demo's sweep (the portable path: flag and event rows by INSERT … SELECT) fires on
    # SQLite, and its events chain like every other.
    assert last_line(SQLITE_SWEEP_CHECK) == ["True", "True", "True"]
