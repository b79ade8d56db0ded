"""The one way a state changes: a `django_fsm` transition on a locked row and its `CaseEvent`,
written in the same transaction (the event log is append-only; see `models.CaseEvent`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from kuaiban.requestid import current_request_id

from . import clocks
from .models import Application, CaseEvent, EventAction, ItemCase


def record_event(
    *,
    application: Application,
    action: EventAction,
    actor=None,
    item_case: ItemCase | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append one fact to the log: who, when, what, why, and the request it came from."""
    return CaseEvent.objects.create(
        application=application,
        item_case=item_case,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        request_id=current_request_id.get(),
        data=data or {},
    )


def record_system_events(
    action: EventAction, rows: Sequence[tuple[int, int, str]], *, at: datetime
) -> None:
    """Append one event per (application id, item case id, reason) of `rows`, in their order:
    the facts the system records about many cases at once (a recompute's moved clocks), with no
    actor. On PostgreSQL one INSERT … SELECT FROM unnest per call, the rows passed as three
    arrays, not as thousands of model instances; elsewhere `bulk_create`."""
    if not rows:
        return
    request_id = current_request_id.get()
    if connection.vendor != "postgresql":
        CaseEvent.objects.bulk_create(
            CaseEvent(
                application_id=application_id,
                item_case_id=case_id,
                action=action,
                at=at,
                reason=reason,
                request_id=request_id,
                data={},
            )
            for application_id, case_id, reason in rows
        )
        return
    applications, cases, reasons = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CaseEvent._meta.db_table} (application_id, item_case_id, action, "  # noqa: S608
            "from_state, to_state, actor_id, at, reason, request_id, data) "
            "SELECT r.application_id, r.item_case_id, %s, '', '', NULL, %s, r.reason, %s, "
            "CAST(%s AS jsonb) FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) "
            "WITH ORDINALITY AS r(application_id, item_case_id, reason, n) ORDER BY r.n",
            [str(action), at, request_id, json.dumps({}), applications, cases, reasons],
        )


def transition(
    obj: Application | ItemCase,
    name: str,
    *,
    actor,
    action: EventAction,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Run the FSM transition `name` on a locked application or item case, save it, and record
    the event in the same transaction. A case's sweep key follows its new state."""
    from_state = obj.state
    getattr(obj, name)()
    if isinstance(obj, ItemCase):
        clocks.refresh_next_flag(obj)
        application, item_case = obj.application, obj
    else:
        application, item_case = obj, None
    obj.save()
    return record_event(
        application=application,
        item_case=item_case,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=obj.state,
        reason=reason,
        data=data,
    )
