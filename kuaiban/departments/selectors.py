"""Where the departments' integrations stand, for the administrators' page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max, OuterRef, Q, Subquery

from kuaiban import outbox

from .models import DepartmentClient, WebhookDelivery


@dataclass(frozen=True)
class ClientStatus:
    client: DepartmentClient
    last_delivered_at: datetime | None
    pending: int  # the backlog: deliveries still to go out
    dead: int  # deliveries given up on, waiting for an administrator
    last_error: str  # the newest failure's message ("" if none)
    last_used_at: datetime | None  # its last call to the API


def department_status() -> list[ClientStatus]:
    """Per client (live ones first): the last successful delivery, the pending backlog, the dead
    count and the newest error. One query."""
    newest_error = (
        WebhookDelivery.objects.filter(client=OuterRef("pk"))
        .exclude(last_error="")
        .order_by("-next_attempt_at", "-pk")
        .values("last_error")[:1]
    )
    clients = (
        DepartmentClient.objects.select_related("unit")
        .annotate(
            last_delivered=Max("deliveries__delivered_at"),
            pending=Count("deliveries", filter=Q(deliveries__status=outbox.PENDING)),
            dead=Count("deliveries", filter=Q(deliveries__status=outbox.DEAD)),
            newest_error=Subquery(newest_error),
        )
        .order_by(F("revoked_at").asc(nulls_first=True), "kind", "name")
    )
    return [
        ClientStatus(
            client=client,
            last_delivered_at=client.last_delivered,
            pending=client.pending,
            dead=client.dead,
            last_error=client.newest_error or "",
            last_used_at=client.last_used_at,
        )
        for client in clients
    ]
