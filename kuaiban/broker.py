"""Queueing a Celery task from a request, bounded: `publish` never makes a request wait.

Celery's own `apply_async` uses the app's shared broker connection, which retries a lost broker
for many seconds. A request must not hang on it: `publish` opens a connection of its own with
connect and socket timeouts of `REDIS_TIMEOUT_SECONDS` (`KUAIBAN_REDIS_TIMEOUT`), makes one
attempt and says whether the message left. The caller keeps its work in the database first (an
outbox row, a queued job, a pending recompute), so a False only means a timer picks it up later.
With `task_always_eager` (the demo without Redis, some tests) the task runs here.

`ring` is `publish` for a dispatcher's wake-up (the outboxes): a burst of commits queues one run,
not one message per commit (P1: the broker's message cost ~0.5 ms of a submission's CPU).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery import Task
from django.conf import settings

from kuaiban import optional_cache

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


# A bell rung whose run never started (its worker died first) silences further rings no longer
# than this; meanwhile beat's periodic run of the same task clears it anyway.
BELL_SECONDS = 120


def _bell(task: Task) -> str:
    return f"doorbell:{task.name}"


def ring(task: Task) -> bool:
    """Wake `task` (a dispatcher taking no arguments, its body `rung_run`) up: queued unless an
    earlier ring's run is still waiting to start, which will read what the caller committed.
    True when a run is (or already was) queued; False (logged) when the broker could not be
    reached.

    The run clears the bell before it reads anything: a commit after that rings again and
    queues another run, so no commit is left unread. Without a cache every process shares (the
    embedded default), or with the cache down, every ring publishes, as before."""
    if optional_cache.is_shared():
        first = optional_cache.add_if_reachable(_bell(task), 1, timeout=BELL_SECONDS)
        if first is False:
            return True  # a run is queued and has not started yet
        if first:
            if publish(task):
                return True
            optional_cache.delete(_bell(task))  # nothing queued: the next commit rings again
            return False
    return publish(task)


def rung_run(task: Task, dispatch: Callable[[int], int], limit: int) -> int:
    """The body of a dispatcher `ring` wakes up: clear the bell (rings from now on queue another
    run), `dispatch(limit)`, and ring again when the run handled its limit (more may be due,
    whose commits' rings this run cleared). Returns what `dispatch` returned."""
    if optional_cache.is_shared():
        optional_cache.delete(_bell(task))
    done = dispatch(limit)
    if done >= limit:
        ring(task)
    return done
