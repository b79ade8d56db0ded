"""Queueing a Celery task from a request, bounded: `publish` never makes a request wait.

Celery's own `apply_async` uses the app's shared broker connection, which retries a lost broker
for many seconds. A request must not hang on it: `publish` opens a connection of its own with
connect and socket timeouts of `REDIS_TIMEOUT_SECONDS` (`KUAIBAN_REDIS_TIMEOUT`), makes one
attempt and says whether the message left. The caller keeps its work in the database first (an
outbox row, a queued job, a pending recompute), so a False only means a timer picks it up later.
With `task_always_eager` (the demo without Redis, some tests) the task runs here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Task
from django.conf import settings

logger = logging.getLogger(__name__)


# One connection per process, thread and broker URL, opened on first use and dropped on any
# error: a fresh connection per request cost 10-40 ms (a new socket, Redis's handshake, kombu's
# set-up). The process id is part of the key, so a forked worker never shares its parent's socket.
_local = threading.local()


def _connection(app, url: str, timeout: float):
    key = (os.getpid(), url)
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    _drop()
    connection = app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={
            "max_retries": 0,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        },
    )
    _local.connection = (key, connection)
    return connection


def _drop() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        try:
            cached[1].release()
        except Exception:  # a broken connection may fail to close; it is gone anyway
            logger.debug("closing a broken broker connection failed", exc_info=True)


def publish(
    task: Task,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    **options: Any,
) -> bool:
    """Queue `task(*args, **kwargs)`: True when the broker took the message, False (logged)
    when it could not be reached within the timeout."""
    timeout = float(getattr(settings, "REDIS_TIMEOUT_SECONDS", 1.0))
    try:
        # The broker the settings name now (the Celery app reads its configuration once).
        connection = _connection(task.app, settings.CELERY_BROKER_URL, timeout)
        task.apply_async(
            tuple(args), dict(kwargs or {}), retry=False, connection=connection, **options
        )
    except Exception as error:  # kombu and redis wrap an unreachable broker in several kinds
        _drop()
        logger.warning("task %s not queued (broker unreachable): %s", task.name, error)
        return False
    return True
