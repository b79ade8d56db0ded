"""A circuit breaker per source, its state in `DataSourceHealth` (shared by every process): after
``KUAIBAN_SHARED_DATA_BREAKER_FAILURES`` consecutive failures the source is not called for
``KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN`` seconds; then calls go through again (half open): a
success closes it, a failure opens it for another cool-down. Written outside any caller's
transaction, in short transactions of its own, so a submission never waits on it.

A healthy source is asked by nearly every submission: its success is written only when it
changes something (failures to forget, an open circuit to close) or the recorded last success
is over `SUCCESS_HEARTBEAT` old, so the source's one row is not rewritten, and locked, by every
request of every worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import DataSourceHealth

# How stale "last success" may be on the health page of a source that keeps succeeding.
SUCCESS_HEARTBEAT = timedelta(minutes=1)


def succeeded(kind: str, health: DataSourceHealth | None = None) -> None:
    """A success closes the circuit and forgets the failures. `health`: the row as `state` read
    it before the call; when it showed nothing to change and a recent success, nothing is
    written (a failure recorded meanwhile by another process is forgotten by the next success
    that sees it). Otherwise one UPDATE, whose condition is checked again under the row's lock,
    or the row created on the source's first call."""
    now = timezone.now()
    if health is not None and not _success_to_record(health, now):
        return
    stale = (
        Q(consecutive_failures__gt=0)
        | Q(open_until__isnull=False)
        | Q(last_success_at__isnull=True)
        | Q(last_success_at__lt=now - SUCCESS_HEARTBEAT)
    )
    updated = (
        DataSourceHealth.objects.filter(kind=kind)
        .filter(stale)
        .update(consecutive_failures=0, open_until=None, last_success_at=now)
    )
    if not updated and health is None:
        DataSourceHealth.objects.get_or_create(kind=kind, defaults={"last_success_at": now})


def _success_to_record(health: DataSourceHealth, now: datetime) -> bool:
    return bool(
        health.consecutive_failures
        or health.open_until
        or health.last_success_at is None
        or health.last_success_at < now - SUCCESS_HEARTBEAT
    )


def state(kind: str) -> DataSourceHealth | None:
    """The source's row (None before its first call): read once per call, for the circuit's
    check (`is_open`) and for `succeeded`."""
    return DataSourceHealth.objects.filter(kind=kind).first()


def failed(kind: str, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        health, _created = DataSourceHealth.objects.select_for_update().get_or_create(kind=kind)
        health.consecutive_failures += 1
        health.last_failure_at = now
        health.last_error = error[:200]
        if health.consecutive_failures >= settings.KUAIBAN_SHARED_DATA_BREAKER_FAILURES:
            cooldown = timedelta(seconds=settings.KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN)
            health.open_until = now + cooldown
        health.save()


def is_open(health: DataSourceHealth | None, now: datetime) -> bool:
    return bool(health and health.open_until and health.open_until > now)
