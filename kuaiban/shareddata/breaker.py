"""A circuit breaker per source, its state in `DataSourceHealth` (shared by every process): after
``KUAIBAN_SHARED_DATA_BREAKER_FAILURES`` consecutive failures the source is not called for
``KUAIBAN_SHARED_DATA_BREAKER_COOLDOWN`` seconds; then calls go through again (half open): a
success closes it, a failure opens it for another cool-down. Written outside any caller's
transaction, in short transactions of its own, so a submission never waits on it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import DataSourceHealth


def allows(kind: str, now: datetime | None = None) -> bool:
    """Whether the source may be called now (its circuit closed, or its cool-down over)."""
    now = now or timezone.now()
    return not DataSourceHealth.objects.filter(kind=kind, open_until__gt=now).exists()


def succeeded(kind: str) -> None:
    DataSourceHealth.objects.update_or_create(
        kind=kind,
        defaults={
            "consecutive_failures": 0,
            "open_until": None,
            "last_success_at": timezone.now(),
        },
    )


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
