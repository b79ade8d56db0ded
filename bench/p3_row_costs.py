"""Where a swept row's time goes in PostgreSQL (P3's worst case), part by part.

The sweep's one statement per batch (`speedup/services/sweep.py: _mark_and_record_postgres`)
runs on `ids` made due, on one connection, with the foreign keys checked at once (`SET
CONSTRAINTS ALL IMMEDIATE`: they are deferred to the commit otherwise, and a rolled-back run
would never pay for them), then rolled back. It runs as built, then without one part at a time:
the event chain trigger's lock of the application row, its look-up of the chain's head, its
hash, the whole trigger (an id and empty hashes only), the flag table's foreign key, the event
table's foreign keys. Each variant is DDL inside the rolled-back transaction (PostgreSQL's DDL
is transactional): nothing of it stays. The difference to the statement as built is what that
part costs per row.

This tells which parts a faster sweep would have to give up: P3's target (20,000 rows/s on two
connections) allows each connection 100 µs per row for everything, the commit included.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection, transaction

# The chain trigger's parts, as written in its function (kuaiban/cases/migrations/0006_…): the
# text to take out and what stands in its place.
_CHAIN_PARTS = {
    "the chain's lock of the application row": (
        "PERFORM 1 FROM cases_application WHERE id = NEW.application_id FOR NO KEY UPDATE;",
        "",
    ),
    "the look-up of the chain's head": (
        "SELECT e.hash INTO head FROM cases_caseevent AS e\n"
        "        WHERE e.application_id = NEW.application_id ORDER BY e.id DESC LIMIT 1;",
        "head := '';",
    ),
    "the hash": ("NEW.hash := kuaiban_event_hash(NEW);", "NEW.hash := '';"),
}


class _Rollback(Exception):
    pass


def _trigger_source() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'kuaiban_event_chain'")
        return cursor.fetchone()[0]


def _replaced_trigger(source: str, old: str, new: str) -> list[str]:
    if old not in source:
        raise RuntimeError(f"the event chain trigger no longer contains {old!r}: update the bench")
    body = source.replace(old, new)
    return [
        "CREATE OR REPLACE FUNCTION kuaiban_event_chain() RETURNS trigger AS "
        f"$chain${body}$chain$ LANGUAGE plpgsql VOLATILE"
    ]


def _dropped_foreign_keys(table: str) -> list[str]:
    """ALTER TABLE statements dropping every foreign key of `table`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
            [table],
        )
        return [f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for (name,) in cursor.fetchall()]


def variants() -> dict[str, list[str]]:
    """Each variant's DDL, run inside the rolled-back transaction before the statement."""
    source = _trigger_source()
    found: dict[str, list[str]] = {"as built": []}
    for part, (old, new) in _CHAIN_PARTS.items():
        found[part] = _replaced_trigger(source, old, new)
    sequence = "pg_get_serial_sequence('cases_caseevent', 'id')"
    found["the whole chain trigger"] = [
        "CREATE OR REPLACE FUNCTION kuaiban_event_chain() RETURNS trigger AS $chain$ BEGIN "
        f"NEW.id := nextval({sequence}); NEW.prev_hash := ''; NEW.hash := ''; RETURN NEW; "
        "END; $chain$ LANGUAGE plpgsql VOLATILE"
    ]
    found["the flag's foreign key"] = _dropped_foreign_keys("speedup_caseflag")
    found["the event's foreign keys"] = _dropped_foreign_keys("cases_caseevent")
    return found


def _one_run(statements: list[str], ids: list[int], now, make_due) -> float:
    from speedup.services.sweep import _mark_and_record_postgres

    seconds: list[float] = []
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for statement in statements:
                    cursor.execute(statement)
            make_due(ids, now)
            started = time.perf_counter()
            fired, _info = _mark_and_record_postgres(ids, now)
            seconds.append(time.perf_counter() - started)
            if sum(len(kind_ids) for kind_ids in fired.values()) != len(ids):
                raise RuntimeError("the rows made due did not all fire")
            raise _Rollback
    except _Rollback:
        pass
    return seconds[0]


def row_costs(ids: list[int], now, make_due, repeat: int = 5) -> dict[str, float]:
    """Seconds per row of the sweep's statement as built and without each part (medians of
    `repeat`, the variants taking turns)."""
    plans = variants()
    times: dict[str, list[float]] = {name: [] for name in plans}
    for _ in range(repeat):
        for name, statements in plans.items():
            times[name].append(_one_run(statements, ids, now, make_due) / len(ids))
    return {name: statistics.median(values) for name, values in times.items()}


def row_costs_line(costs: dict[str, float], rows: int) -> str:
    built = costs["as built"]
    saved = {name: built - seconds for name, seconds in costs.items() if name != "as built"}
    parts = ", ".join(f"{name} {seconds * 1e6:.1f}" for name, seconds in saved.items())
    # Without the trigger and without the keys: their savings, measured apart, taken off.
    apart = ("the whole chain trigger", "the flag's foreign key", "the event's foreign keys")
    rest = built - sum(saved[name] for name in apart)
    return (
        f"  a swept row in PostgreSQL ({rows:,} rows, one connection, foreign keys checked at "
        f"once, rolled back): {built * 1e6:.0f} µs, of which (µs, as measured by leaving each "
        f"out) {parts}; the rest (the update, the two inserts, their indexes) about "
        f"{rest * 1e6:.0f} µs; the target allows 100 µs per row and connection, commit included"
    )
