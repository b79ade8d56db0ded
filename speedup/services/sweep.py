"""The deadline sweep: set-based, idempotent, safe to run twice at once.

Each run takes the due clocks in batches (`BATCH`, from the partial index on `next_flag_at`) and,
per batch, locks the running rows, marks every threshold that has passed and whose flag has
not fired (`... WHERE overdue_at IS NULL`), writes one flag row and one event per mark and
queues notifications, all in one transaction. On PostgreSQL the marking and the flag and event
rows are ONE statement per batch (an UPDATE … FROM a subquery, with the INSERTs in the same
statement), whatever the batch size; elsewhere (the demo's SQLite) the same marks are computed
in Python and written with one UPDATE and one INSERT … SELECT per kind. A second sweep racing the
first blocks on the row locks and then finds nothing left to mark; a case concluded before the
UPDATE is not in a running state and is never flagged. A backlog (a full first batch) is swept
on `KUAIBAN_BATCH_CONNECTIONS` connections at once (2), each taking its share of the
applications (`deadlines_sweep`).
"""

import json
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Mod
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.cases.clocks import THRESHOLDS, flag_event_facts
from kuaiban.cases.models import (
    RUNNING_CLOCK_STATES,
    Application,
    CaseEvent,
    EventAction,
    FlagKind,
    ItemCase,
)
from kuaiban.departments import webhooks as department_webhooks
from kuaiban.notifications.models import Notification
from kuaiban.notifications.services import notifications_enqueue
from kuaiban.parallel import batch_connections, fan_out_possible, on_connections
from kuaiban.ratings.followups import followups_open_for_overdue
from kuaiban.requestid import current_request_id

from ..models import CaseFlag

logger = logging.getLogger(__name__)

# Supervisors hear of breaches of the commitment and of the law; reviewers hear of everything.
SUPERVISOR_KINDS = (FlagKind.OVERDUE, FlagKind.BREACH)
BATCH = 5000


def next_flag_expression(just_fired: dict[str, list[int]] | None = None):
    """SQL for the earliest unfired threshold (thresholds come due in the order of
    `clocks.THRESHOLDS`), treating the rows in `just_fired[kind]` as flagged for that kind."""
    just_fired = just_fired or {}
    whens = []
    for t in THRESHOLDS:
        condition = Q(**{f"{t.fired}__isnull": True, f"{t.at}__isnull": False})
        if just_fired.get(t.kind):
            condition &= ~Q(pk__in=just_fired[t.kind])
        whens.append(When(condition, then=F(t.at)))
    return Case(*whens, default=None)


@dataclass
class SweepResult:
    marked: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.marked.values())


def deadlines_sweep(*, now=None, batch: int = BATCH) -> SweepResult:
    """Fire every threshold that has passed. Returns how many flags of each kind fired.

    The first batch runs here. A full one means a backlog (thousands fell due at once: a
    morning after a long closure, a worker down for hours): outside a transaction on PostgreSQL
    the rest is swept on `batch_connections()` connections at once (2), each taking the due
    cases of its share of the applications (`application_id % n`), so no two take the same
    case or wait on the same application's chain; the database's work then runs on every
    core."""
    now = now or timezone.now()
    marked = {t.kind.value: 0 for t in THRESHOLDS}
    more = _sweep_batches(now, batch, marked, first_only=True)
    connections = batch_connections()
    if more and connections > 1 and fan_out_possible():
        shares = on_connections(
            lambda share: _sweep_share(now, batch, (share, connections)), connections, name="sweep"
        )
        for counts in shares:
            for kind, count in counts.items():
                marked[kind] += count
    elif more:
        _sweep_batches(now, batch, marked)
    if any(marked.values()):
        logger.info("deadline sweep marked %s", marked)
    return SweepResult(marked)


def _sweep_share(now, batch: int, share: tuple[int, int]) -> dict[str, int]:
    marked = {t.kind.value: 0 for t in THRESHOLDS}
    _sweep_batches(now, batch, marked, share=share)
    return marked


def _sweep_batches(
    now,
    batch: int,
    marked: dict[str, int],
    *,
    share: tuple[int, int] | None = None,
    first_only=False,
) -> bool:
    """Sweep batch after batch (of the applications whose id is k modulo n, `share` = (k, n),
    when given), counting the flags in `marked`, until one is not full (or after the first with
    `first_only`). Returns whether the last batch was full (more may be due)."""
    due = ItemCase.objects.filter(next_flag_at__lte=now, state__in=RUNNING_CLOCK_STATES)
    if share is not None:
        k, n = share
        due = due.alias(share=Mod("application_id", n)).filter(share=k)
    while True:
        with transaction.atomic():
            due_ids = list(due.order_by("next_flag_at").values_list("pk", flat=True)[:batch])
            if not due_ids:
                return False
            fired, case_info = _mark_and_record(due_ids, now)
            for kind, ids in fired.items():
                marked[kind] += len(ids)
            if any(fired.values()):
                case_info = case_info if case_info is not None else _case_info(fired)
                _queue_notifications(fired, now, case_info)
                # The departments' own cases: a webhook to their systems (their service
                # accounts get no in-app message: nobody reads it).
                department_webhooks.cases_flagged(
                    ((pk, kind) for kind, kind_ids in fired.items() for pk in kind_ids),
                    {pk: unit_id for pk, (unit_id, _reference) in case_info.items()},
                )
            # 快办要求未落实: a case past its committed time opens a follow-up for its unit.
            followups_open_for_overdue(fired.get(FlagKind.OVERDUE.value, ()), now)
        if len(due_ids) < batch:
            return False
        if first_only:
            return True


def _mark_and_record(ids: list[int], now) -> tuple[dict[str, list[int]], dict | None]:
    """Mark the batch's passed thresholds and write their flag and event rows. Returns the ids
    fired per kind and, on PostgreSQL, each fired case's (unit, reference) for the messages."""
    if connection.vendor == "postgresql":
        return _mark_and_record_postgres(ids, now)
    fired = _mark_portable(ids, now)
    thresholds = {t.kind.value: t.at for t in THRESHOLDS}
    for kind, kind_ids in fired.items():
        if kind_ids:
            _insert_flags_and_events(kind, thresholds[kind], kind_ids, now)
    return fired, None


def _mark_and_record_postgres(ids: list[int], now) -> tuple[dict[str, list[int]], dict]:
    """Two statements per batch, whatever its size. First lock the batch's running rows (in id
    order, as every sweep does, so two sweeps never deadlock). Then one statement: a subquery
    reads each row's thresholds and flags, the UPDATE sets every passed threshold's flag and
    moves `next_flag_at` to the earliest one still unfired, and the same statement inserts the
    flag rows and the event rows from the updated rows and returns what the messages need.

    The statement starts after the locks were granted, so its snapshot holds what a concurrent
    sweep committed: a flag it set is seen as set and never fires twice (the subquery keeps the
    old values apart from the new ones whatever `now` is); a clock that stopped meanwhile is no
    longer in a running state and drops out.
    """
    table = connection.ops.quote_name(ItemCase._meta.db_table)
    flag_table = connection.ops.quote_name(CaseFlag._meta.db_table)
    event_table = connection.ops.quote_name(CaseEvent._meta.db_table)
    application_table = connection.ops.quote_name(Application._meta.db_table)
    hits = [f"hit_{i}" for i in range(len(THRESHOLDS))]
    pairs = list(zip(THRESHOLDS, hits, strict=True))
    passed = ", ".join(f"({t.fired} IS NULL AND {t.at} <= %(now)s) AS {hit}" for t, hit in pairs)
    columns = ", ".join(field for t in THRESHOLDS for field in (t.at, t.fired))
    sets = [f"{t.fired} = CASE WHEN o.{hit} THEN %(now)s ELSE o.{t.fired} END" for t, hit in pairs]
    pending = " ".join(
        f"WHEN o.{t.fired} IS NULL AND o.{t.at} IS NOT NULL AND NOT o.{hit} THEN o.{t.at}"
        for t, hit in pairs
    )
    sets.append(f"next_flag_at = CASE {pending} ELSE NULL END")
    returned = ", ".join(f"o.{t.at}, o.{hit}" for t, hit in pairs)
    # One row per (case, fired kind), kinds in threshold order: flags and events are written
    # kind by kind as before.
    kinds = " UNION ALL ".join(
        f"SELECT {i} AS ord, %(kind_{i})s AS kind, %(reason_{i})s AS reason, "  # noqa: S608
        f"CAST(%(data_{i})s AS jsonb) AS data, u.id, u.application_id, u.{t.at} AS threshold_at "
        f"FROM u WHERE u.{hit}"
        for i, (t, hit) in enumerate(pairs)
    )
    params: dict = {"ids": ids, "states": [str(s) for s in RUNNING_CLOCK_STATES], "now": now}
    for i, t in enumerate(THRESHOLDS):
        reason, facts = flag_event_facts(t.kind)
        params.update({f"kind_{i}": t.kind.value, f"reason_{i}": reason})
        params[f"data_{i}"] = json.dumps(facts)
    params.update({"action": str(EventAction.FLAG), "request_id": current_request_id.get()})
    fired: dict[str, list[int]] = {t.kind.value: [] for t in THRESHOLDS}
    case_info: dict[int, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%(ids)s) AND state = ANY(%(states)s) "  # noqa: S608
            "ORDER BY id FOR UPDATE",
            params,
        )
        params["ids"] = [row[0] for row in cursor.fetchall()]
        if not params["ids"]:
            return fired, case_info
        cursor.execute(
            f"WITH o AS MATERIALIZED (SELECT id, {columns}, {passed} FROM {table} "  # noqa: S608
            "WHERE id = ANY(%(ids)s)), "
            # c.id = ANY(ids) too: rows found by the id list, not by a merge over the whole table.
            f"u AS (UPDATE {table} AS c SET {', '.join(sets)} FROM o WHERE c.id = o.id "
            "AND c.id = ANY(%(ids)s) "
            f"RETURNING c.id, c.application_id, c.unit_id, {returned}), "
            f"k AS MATERIALIZED ({kinds}), "
            f"f AS (INSERT INTO {flag_table} (item_case_id, kind, threshold_at, flagged_at) "
            "SELECT id, kind, threshold_at, %(now)s FROM k ORDER BY ord, id), "
            f"e AS (INSERT INTO {event_table} (application_id, item_case_id, action, from_state, "
            "to_state, actor_id, at, reason, request_id, data) "
            "SELECT application_id, id, %(action)s, '', '', NULL, %(now)s, reason, "
            "%(request_id)s, data FROM k ORDER BY ord, id) "
            # The references by primary key, not a join (which may read every application).
            f"SELECT u.id, u.unit_id, (SELECT a.reference FROM {application_table} AS a "
            f"WHERE a.id = u.application_id), {', '.join(f'u.{hit}' for hit in hits)} "
            "FROM u ORDER BY u.id",
            params,
        )
        for pk, unit_id, reference, *row_hits in cursor.fetchall():
            if not any(row_hits):
                continue
            case_info[pk] = (unit_id, reference)
            for t, hit in zip(THRESHOLDS, row_hits, strict=True):
                if hit:
                    fired[t.kind.value].append(pk)
    return fired, case_info


def _mark_portable(ids: list[int], now) -> dict[str, list[int]]:
    """Lock the batch, see which thresholds passed unflagged (in Python), and set those flags in
    ONE update: the path of the databases other than PostgreSQL.

    After waiting on a concurrent sweep's locks PostgreSQL hands back the rows as that sweep
    committed them, so a flag it set is seen as set and never fires twice; a clock that stopped
    meanwhile is no longer in a running state and drops out.
    """
    columns = [field for t in THRESHOLDS for field in (t.at, t.fired)]
    rows = (
        ItemCase.objects.filter(pk__in=ids, state__in=RUNNING_CLOCK_STATES)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", *columns)
    )
    fired: dict[str, list[int]] = {t.kind.value: [] for t in THRESHOLDS}
    for pk, *values in rows:
        for i, t in enumerate(THRESHOLDS):
            threshold_at, fired_at = values[2 * i], values[2 * i + 1]
            if fired_at is None and threshold_at is not None and threshold_at <= now:
                fired[t.kind.value].append(pk)
    locked = [row[0] for row in rows]
    if not locked:
        return fired
    updates = {
        t.fired: Case(When(pk__in=fired[t.kind], then=Value(now)), default=F(t.fired))
        for t in THRESHOLDS
        if fired[t.kind]
    }
    # The same statement moves the index key to the earliest threshold still unfired once
    # this update is applied (SQL reads the old row, so "just fired" is spelled out).
    updates["next_flag_at"] = next_flag_expression(just_fired=fired)
    ItemCase.objects.filter(pk__in=locked).update(**updates)
    return fired


def _insert_flags_and_events(kind: str, threshold: str, ids: list[int], now) -> None:
    """One INSERT … SELECT each for the flag rows and the event rows of one kind: the sweep's
    worst case (tens of thousands newly due) stays in the database, not in Python objects."""
    flag_table, event_table = CaseFlag._meta.db_table, CaseEvent._meta.db_table
    case_table = ItemCase._meta.db_table
    postgres = connection.vendor == "postgresql"
    where = "id = ANY(%s)" if postgres else f"id IN ({', '.join(['%s'] * len(ids))})"
    id_params = [ids] if postgres else ids
    data = "CAST(%s AS jsonb)" if postgres else "%s"
    reason, facts = flag_event_facts(kind)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {flag_table} (item_case_id, kind, threshold_at, flagged_at) "  # noqa: S608
            f"SELECT id, %s, {threshold}, %s FROM {case_table} WHERE {where}",
            [kind, now, *id_params],
        )
        # The chain's columns are named, empty: SQLite checks NOT NULL before its AFTER INSERT
        # trigger fills them (PostgreSQL's BEFORE INSERT trigger fills them either way).
        cursor.execute(
            f"INSERT INTO {event_table} (application_id, item_case_id, action, from_state, "  # noqa: S608
            f"to_state, actor_id, at, reason, request_id, data, prev_hash, hash) "
            f"SELECT application_id, id, %s, '', '', NULL, %s, %s, %s, {data}, '', '' "
            f"FROM {case_table} WHERE {where}",
            [
                EventAction.FLAG,
                now,
                reason,
                current_request_id.get(),
                json.dumps(facts),
                *id_params,
            ],
        )


def _case_info(fired: dict[str, list[int]]) -> dict[int, tuple[int, str]]:
    """Each fired case's (unit, reference), read after the marking (the portable path; the
    PostgreSQL statement returns them)."""
    all_ids = [pk for ids in fired.values() for pk in ids]
    return {
        pk: (unit_id, reference)
        for pk, unit_id, reference in ItemCase.objects.filter(pk__in=all_ids).values_list(
            "pk", "unit_id", "application__reference"
        )
    }


def _queue_notifications(
    fired: dict[str, list[int]], now, case_info: dict[int, tuple[int, str]]
) -> None:
    """One message per recipient and kind per batch (not one per case): reviewers hear of their
    unit's cases, supervisors of overdue cases and breaches. References of the first few cases
    are listed; the link opens the queue or the overdue list. Written in the batch's own
    transaction (the outbox), so a backlog of several batches sends one message per batch."""
    User = get_user_model()
    reviewers: dict[int | None, list] = {}
    for user in User.objects.filter(
        role=Role.REVIEWER,
        unit_id__in={u for u, _r in case_info.values()},
        is_active=True,
        department_client__isnull=True,
    ):
        reviewers.setdefault(user.unit_id, []).append(user)
    supervisors = list(
        User.objects.filter(role=Role.SUPERVISOR, is_active=True, department_client__isnull=True)
    )
    rows = []

    def message(user, kind, references, link):
        label = FlagKind(kind).label
        subject = _("%(flag)s: %(count)d case(s)") % {"flag": label, "count": len(references)}
        distinct = sorted(set(references))
        shown = "、".join(distinct[:10])
        body = _("Cases: %(refs)s%(more)s") % {
            "refs": shown,
            "more": _(" and %(n)d more") % {"n": len(distinct) - 10} if len(distinct) > 10 else "",
        }
        rows.append(
            Notification(
                recipient=user,
                channel=Notification.Channel.IN_APP,
                subject=subject,
                body=body,
                link=link,
                created_at=now,
                status=Notification.Status.SENT,
                sent_at=now,
            )
        )
        if kind in SUPERVISOR_KINDS and user.email:
            rows.append(
                Notification(
                    recipient=user,
                    channel=Notification.Channel.EMAIL,
                    subject=subject,
                    body=body,
                    link=link,
                    created_at=now,
                )
            )

    for kind, ids in fired.items():
        if not ids:
            continue
        by_unit: dict[int, list[str]] = {}
        for pk in ids:
            unit_id, reference = case_info[pk]
            by_unit.setdefault(unit_id, []).append(reference)
        for unit_id, references in by_unit.items():
            for user in reviewers.get(unit_id, []):
                message(user, kind, references, reverse("staff:cases"))
        if kind in SUPERVISOR_KINDS:
            everything = [case_info[pk][1] for pk in ids]
            for user in supervisors:
                message(user, kind, everything, reverse("supervision:overdue"))
    Notification.objects.bulk_create(rows, batch_size=2000)
    if any(r.channel == Notification.Channel.EMAIL for r in rows):
        transaction.on_commit(notifications_enqueue)
