"""The in-app messages a sweep of follow-ups or commitment checks sends: one per recipient and
kind per sweep, never one per row. The unit's reviewers hear of their unit's rows (the kinds
in `unit_kinds`); the city's supervision office (supervisors without a district) of the kinds
in `office_kinds`, with the total."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from kuaiban.accounts.models import Role
from kuaiban.notifications.models import Notification


def unit_and_office_messages(
    fired: Mapping[str, Sequence],
    subjects: Mapping[str, str],
    now: datetime,
    *,
    unit_kinds: Collection[str],
    office_kinds: Collection[str],
    unit_link: str,
    office_link: str,
) -> None:
    """`fired`: kind → the rows (each with a `unit_id`) whose threshold of that kind fired."""
    if not any(fired.values()):
        return
    User = get_user_model()
    units = {row.unit_id for rows in fired.values() for row in rows}
    reviewers: dict[int | None, list] = {}
    # Not the departments' service accounts (API clients: nobody reads their messages).
    service = {"department_client__isnull": True}
    for user in User.objects.filter(
        role=Role.REVIEWER, unit_id__in=units, is_active=True, **service
    ):
        reviewers.setdefault(user.unit_id, []).append(user)
    office = list(
        User.objects.filter(role=Role.SUPERVISOR, district=None, is_active=True, **service)
    )
    messages: list[Notification] = []

    def message(user, kind: str, count: int, link: str) -> None:
        messages.append(
            Notification(
                recipient=user,
                channel=Notification.Channel.IN_APP,
                subject=_("%(flag)s: %(count)d") % {"flag": subjects[kind], "count": count},
                body=subjects[kind],
                link=link,
                created_at=now,
                status=Notification.Status.SENT,
                sent_at=now,
            )
        )

    for kind, rows in fired.items():
        if not rows:
            continue
        if kind in unit_kinds:
            for unit_id, count in Counter(row.unit_id for row in rows).items():
                for user in reviewers.get(unit_id, []):
                    message(user, kind, count, unit_link)
        if kind in office_kinds:
            for user in office:
                message(user, kind, len(rows), office_link)
    Notification.objects.bulk_create(messages)
