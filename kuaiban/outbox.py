"""What every outbox's dispatcher shares (the notifications, the departments' webhooks): claiming
due rows with a lease, releasing them, recording an outcome only under one's own claim, and the
backoff after a failure.

An outbox model extends `OutboxRow`: `status` ("pending" / "sent" / "dead"),
`next_attempt_at`, `claimed_until`, `claim_token`, `attempts` and `last_error`.

A claim is one UPDATE whose subquery picks due rows `FOR UPDATE SKIP LOCKED` and stamps them
with this run's token and a lease; it commits at once. Sending happens outside any transaction,
so no row stays locked while a gateway or a department's server takes its time. The outcome is
written by an UPDATE conditional on the token: if the lease ran out and another dispatcher took
the row over, this run's late answer changes nothing. Two dispatchers never claim the same row;
a crashed one's claim expires after the lease and the row is due again.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PENDING, SENT, DEAD = "pending", "sent", "dead"

logger = logging.getLogger(__name__)


class OutboxRow(models.Model):
    """The delivery state every outbox row carries (the notifications, the webhooks)."""

    class Status(models.TextChoices):
        PENDING = PENDING, _("Pending")
        SENT = SENT, _("Sent")
        DEAD = DEAD, _("Dead (no more attempts)")

    # Database defaults too, so rows written in bulk SQL are queued like any other.
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=Status.choices,
        default=Status.PENDING,
        db_default=Status.PENDING,
    )
    next_attempt_at = models.DateTimeField(
        _("next attempt"), default=timezone.now, db_default=Now()
    )
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        abstract = True


# How long a claim lasts, and the margin at which a run lets the rest of its batch go.
LEASE = timedelta(minutes=5)
LEASE_MARGIN = timedelta(seconds=60)
# After the n-th failure the row waits 1 min × 2^(n-1), never more than an hour, less up to a
# fifth at random so that rows failing together do not all come back in the same second.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
BACKOFF_JITTER = 0.2


def backoff(failures: int) -> timedelta:
    """How long a row waits after its `failures`-th failed attempt."""
    delay = min(BACKOFF_BASE * 2 ** max(failures - 1, 0), BACKOFF_CAP)
    return delay * (1 - random.uniform(0, BACKOFF_JITTER))  # noqa: S311 (not for secrets)


@dataclass
class Claim:
    token: uuid.UUID
    until: datetime
    rows: list[Any]

    def running_short(self) -> bool:
        """The lease ends within the margin: the rest of the batch is let go."""
        return timezone.now() + LEASE_MARGIN >= self.until


def due(model: type[models.Model]) -> models.QuerySet:
    """Pending rows whose time has come and that nobody holds a live claim on."""
    now = timezone.now()
    return model._default_manager.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        status=PENDING,
        next_attempt_at__lte=now,
    )


def claim(rows: models.QuerySet, *, size: int, related: Sequence[str] = ()) -> Claim:
    """Claim up to `size` of `rows` (a `due()` queryset, narrowed as the caller likes), oldest
    due first, in one committed statement."""
    model = rows.model
    token = uuid.uuid4()
    until = timezone.now() + LEASE
    chosen = (
        rows.order_by("next_attempt_at", "pk")
        .select_for_update(skip_locked=True)
        .values("pk")[:size]
    )
    with transaction.atomic():  # one statement, committed before anything is sent
        model._default_manager.filter(pk__in=chosen).update(claim_token=token, claimed_until=until)
    claimed = (
        model._default_manager.filter(claim_token=token)
        .select_related(*related)
        .order_by("next_attempt_at", "pk")
    )
    return Claim(token, until, list(claimed))


def release(model: type[models.Model], token: uuid.UUID, pks: list[int]) -> None:
    """Let claimed rows go unattempted: they are due again at once."""
    model._default_manager.filter(pk__in=pks, claim_token=token).update(
        claim_token=None, claimed_until=None
    )


def mine(row: models.Model, token: uuid.UUID) -> models.QuerySet:
    """The row, as long as this run's claim on it still holds."""
    return type(row)._default_manager.filter(pk=row.pk, claim_token=token, status=PENDING)


def record_success(
    row: models.Model, token: uuid.UUID, *, what: str, log: logging.Logger = logger, **done: Any
) -> bool:
    """Mark a claimed row sent (`done`: its delivery time field); False (logged) if the claim
    ran out meanwhile. `what` names the row in the log."""
    recorded = mine(row, token).update(
        status=SENT,
        attempts=F("attempts") + 1,
        last_error="",
        claim_token=None,
        claimed_until=None,
        **done,
    )
    if not recorded:
        log.warning("%s went out after its claim ran out", what)
    return bool(recorded)


def record_failure(
    row: Any,
    token: uuid.UUID,
    message: str,
    *,
    permanent: bool,
    max_attempts: int,
    what: str,
    log: logging.Logger = logger,
) -> bool:
    """Record a failed attempt: back off, or dead after `max_attempts` (or a permanent refusal).
    Logged under `what`; returns whether the row is now dead."""
    failures = row.attempts + 1
    dead = permanent or failures >= max_attempts
    now = timezone.now()
    if dead and not permanent:
        message = f"gave up after {failures} attempts: {message}"
    mine(row, token).update(
        status=DEAD if dead else PENDING,
        attempts=failures,
        last_error=message[:300],
        next_attempt_at=now if dead else now + backoff(failures),
        claim_token=None,
        claimed_until=None,
    )
    log.warning("%s %s: %s", what, "dead" if dead else f"attempt {failures} failed", message)
    return dead


def put_back(model: type[models.Model], pks: list[int]) -> int:
    """Dead rows pending again with a fresh set of attempts (an administrator fixed the
    cause)."""
    return model._default_manager.filter(pk__in=pks, status=DEAD).update(
        status=PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claim_token=None,
        claimed_until=None,
    )


def dispatch(
    rows: Callable[[], models.QuerySet],
    attempt: Callable[[Any, uuid.UUID], int],
    *,
    limit: int,
    batch: int,
    related: Sequence[str] = (),
    skip: Callable[[Any], bool] = lambda row: False,
) -> int:
    """Claim batches of `rows()` (a `due()` queryset, made again for each batch) and `attempt`
    each claimed row holding no lock, until `limit` rows were handled or none is left. A row
    that `skip` names now (its gateway just failed) is let go for the next run; when the lease
    runs short the rest of the batch is let go too. Returns the sum of `attempt`'s answers (how
    many went out)."""
    sent = handled = 0
    while handled < limit:
        queryset = rows()
        claimed = claim(queryset, size=min(batch, limit - handled), related=related)
        for position, row in enumerate(claimed.rows):
            if claimed.running_short():
                release(queryset.model, claimed.token, [r.pk for r in claimed.rows[position:]])
                break
            if skip(row):
                release(queryset.model, claimed.token, [row.pk])
                continue
            sent += attempt(row, claimed.token)
        handled += len(claimed.rows)
        if len(claimed.rows) < batch:
            break
    return sent
