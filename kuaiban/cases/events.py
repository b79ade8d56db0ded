"""The one way a state changes: a `django_fsm` transition on a locked row and its `CaseEvent`,
written in the same transaction (the event log is append-only; see `models.CaseEvent`)."""

from __future__ import annotations

from typing import Any

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
