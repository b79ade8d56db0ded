"""The event log's hash chain: each `CaseEvent` carries `prev_hash` (its predecessor's hash) and
`hash`, the SHA-256 of a canonical serialisation of its own fields and `prev_hash`.

**One chain per application** (every event has one): appends to different applications never
wait for each other, and a verifier can check one application alone. Chain order is id order.

**The database computes the hashes**, whoever writes: on PostgreSQL a `BEFORE INSERT` trigger
(migration `0006_event_hash_chain`) locks the application's row (`FOR NO KEY UPDATE`: services
that lock it already hold a stronger lock; a row lock lives in the row, so a bulk write over
thousands of applications does not fill the lock table as advisory locks would), gives the row
its id from the sequence only then (so id order is the order in which the chain grew, whatever
ids concurrent transactions drew first), reads the head and fills both columns. So the ORM,
`bulk_create`, the sweep's `INSERT … SELECT` and the history generator's `COPY` chain without a
round trip per row, and the application cannot write a hash of its choosing. On SQLite (the
demo) an `AFTER INSERT` trigger calls `event_hash` below, registered on every connection. The
trigger relies on READ COMMITTED (Django's default): each statement in it sees the chain as last
committed.

The serialisation is the same on both sides (`canonical` here, `kuaiban_event_hash()` in SQL):
every field as `<length>:<text>`, in `FIELDS` order, then `prev_hash`; NULL is empty; `at` in
UTC as `YYYY-MM-DDTHH:MM:SS.ffffff`; `data` as the database's own text of the stored JSON.

`verify_chains` recomputes every hash in Python (not with the database's function) and reports
each chain's first break: a row whose fields no longer give its hash (changed), or whose
`prev_hash` is not the hash of the event before it (an event removed or moved). A removed *last*
event leaves no trace in the chain itself; the database role that cannot DELETE guards that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import TextField
from django.db.models.functions import Cast

FIELDS = (
    "id",
    "application_id",
    "item_case_id",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "at",
    "reason",
    "request_id",
    "data",
)
GENESIS = ""


def at_text(value: datetime | str) -> str:
    """A moment as the chain writes it: UTC, microseconds. SQLite hands its stored text (naive
    UTC); PostgreSQL and the ORM a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def canonical(values: dict, prev_hash: str) -> str:
    parts = []
    for name in FIELDS:
        value = values[name]
        if value is None:
            text = ""
        elif name == "at":
            text = at_text(value)
        else:
            text = str(value)
        parts.append(f"{len(text)}:{text}")
    parts.append(f"{len(prev_hash)}:{prev_hash}")
    return "".join(parts)


def event_hash(values: dict, prev_hash: str) -> str:
    return hashlib.sha256(canonical(values, prev_hash).encode()).hexdigest()


def sqlite_event_hash(*args) -> str:
    """The SQLite trigger's function: the FIELDS' stored values, then prev_hash."""
    *values, prev_hash = args
    return event_hash(dict(zip(FIELDS, values, strict=True)), prev_hash or GENESIS)


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: the demo's SQLite connections get the trigger's function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "kuaiban_event_hash", len(FIELDS) + 1, sqlite_event_hash, deterministic=True
        )


@dataclass(frozen=True)
class ChainBreak:
    application_id: int
    reference: str
    event_id: int
    problem: str


@dataclass
class Verification:
    events: int
    chains: int
    breaks: list[ChainBreak]


def _rows(application_id: int | None) -> Iterator[dict]:
    from .models import CaseEvent

    events = CaseEvent.objects.all()
    if application_id is not None:
        events = events.filter(application_id=application_id)
    columns = [f for f in FIELDS if f != "data"]
    return (
        events.annotate(data_text=Cast("data", TextField()))
        .order_by("application_id", "id")
        .values(*columns, "data_text", "prev_hash", "hash", "application__reference")
        .iterator(chunk_size=5000)
    )


def verify_chains(*, application_id: int | None = None) -> Verification:
    """Recompute every chain (or one application's); the first break of each broken chain."""
    result = Verification(events=0, chains=0, breaks=[])
    current, previous_hash, previous_id, broken = None, GENESIS, None, False
    for row in _rows(application_id):
        row["data"] = row.pop("data_text")
        if row["application_id"] != current:
            current, previous_hash, previous_id = row["application_id"], GENESIS, None
            broken = False
            result.chains += 1
        result.events += 1
        if broken:
            continue
        problem = ""
        if row["prev_hash"] != previous_hash:
            where = f"event {previous_id}" if previous_id else "the start of the chain"
            recorded, expected = row["prev_hash"][:12] or "(none)", previous_hash[:12] or "(none)"
            problem = (
                f"does not follow {where}: it records the predecessor's hash as {recorded}…, "
                f"the chain has {expected}… (an event was removed, inserted or moved)"
            )
        elif event_hash(row, row["prev_hash"]) != row["hash"]:
            problem = (
                "its fields no longer give its hash (the event was changed after it was written)"
            )
        if problem:
            broken = True
            result.breaks.append(
                ChainBreak(row["application_id"], row["application__reference"], row["id"], problem)
            )
        previous_hash, previous_id = row["hash"], row["id"]
    return result
