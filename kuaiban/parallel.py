"""Batch work on several database connections at once (the recompute after a calendar edit,
the sweep of a backlog): one thread per connection, each in a copy of the caller's context (the
request id its events carry), each closing its own connection when done.

Only for work on committed rows: another connection does not see the caller's uncommitted
writes, so `fan_out_possible()` is false inside a transaction (and on SQLite, whose single
writer gains nothing). Whatever one thread raises is raised here once all have finished.
"""

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection

T = TypeVar("T")


def fan_out_possible() -> bool:
    """Whether work may run on other connections: PostgreSQL, and no transaction open here."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def batch_connections() -> int:
    """How many connections batch work runs on at once (`KUAIBAN_BATCH_CONNECTIONS`, 2)."""
    return settings.KUAIBAN_BATCH_CONNECTIONS


def on_connections(work: Callable[[int], T], count: int, *, name: str = "batch") -> list[T]:
    """`work(0)` … `work(count - 1)`, each in its own thread and database connection; their
    results in that order."""

    def run(index: int) -> T:
        try:
            return work(index)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix=name) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, run, index) for index in range(count)
        ]
        return [future.result() for future in futures]
