"""Tables that change rarely (the catalog, the rules, the working calendar), kept in each
process and rebuilt when an edit anywhere changes a shared version token in the cache (Redis).

A submission reads a bundle's items, their materials and form fields, the pre-check and
invitation rules: a dozen queries, each the same for every applicant until an administrator
edits the catalog. Each `ProcessTables` keeps what it built per process, keyed by the shared
version; `invalidate()` (called by the edits, see `invalidate_on_save`) clears this process's
copy at once and deletes the shared token once the edit commits, so every process rebuilds on
its next read. The token is random: a Redis restarted empty never hands back a version a process
still holds. Until the editing transaction ends, what it reads is built afresh and not kept: an
edit that rolls back leaves nothing behind.

The versions are read at most once per request or Celery task, every family's in one round
trip (`request_started`/`task_prerun` start a new reading), and on every call elsewhere
(management commands, the shell). With the cache down (`optional_cache`), the tables are
rebuilt once a minute: an edit reaches the other processes within a minute. With a cache of
each process's own (the embedded default), nothing is kept beyond a request or task.

What `get` returns is shared by every later request of the process: callers read it and never
change it (copy a list before sorting or appending).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model

from kuaiban import optional_cache

T = TypeVar("T")
_ALL: list[ProcessTables] = []


class _Reading(threading.local):
    """The versions read during the current request or task (None: outside one, read always)."""

    versions: dict[str, Any] | None = None


_reading = _Reading()


def reading_start(**_kwargs) -> None:
    """A request or task begins: each version is read again, once."""
    _reading.versions = {}


def reading_end(**_kwargs) -> None:
    _reading.versions = None


class ProcessTables:
    """One family of rarely edited tables, built on demand per `part` and kept per process."""

    def __init__(self, name: str):
        self.version_key = f"{name}:version"
        self._key: object = None
        self._built: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        # This thread's transaction edited the tables and has not committed yet.
        self._editing = threading.local()
        _ALL.append(self)

    def _version(self) -> object:
        versions = _reading.versions
        if not optional_cache.is_shared():
            # Each process has a cache of its own (the embedded default's in-process cache): an
            # edit in another process (the web's admin, seen by the timers) could never reach
            # this one, so nothing is kept beyond the current request or task.
            if versions is None:
                return uuid.uuid4().hex
            return versions.setdefault(self.version_key, uuid.uuid4().hex)
        if versions is not None:
            if self.version_key not in versions:
                # The first read of the request or task reads every family's version at once.
                keys = [t.version_key for t in _ALL if t.version_key not in versions]
                versions.update(dict.fromkeys(keys) | optional_cache.get_many(keys))
            if versions[self.version_key] is not None:
                return versions[self.version_key]
        version = optional_cache.get(self.version_key)
        if version is None:
            optional_cache.add(self.version_key, uuid.uuid4().hex, timeout=None)
            version = optional_cache.get(self.version_key)
        if version is None:  # the cache is down: rebuild once a minute
            version = f"offline-{int(time.monotonic() // 60)}"
        if versions is not None:
            versions[self.version_key] = version
        return version

    def get(self, part: Hashable, build: Callable[[], T]) -> T:
        """What `build` returns for `part`, built once per version and process."""
        if getattr(self._editing, "on", False):
            if transaction.get_connection().in_atomic_block:
                # Built from an uncommitted edit: used by this transaction, never kept (it may
                # still roll back).
                return build()
            self._forget()  # the edit rolled back (its commit would have ended the editing)
        key = self._version()
        with self._lock:
            if key != self._key:
                self._built, self._key = {}, key
            if part in self._built:
                return self._built[part]
        value = build()
        with self._lock:
            if key == self._key:
                self._built[part] = value
        return value

    def invalidate(self) -> None:
        """An edit: this process forgets at once, every process once the edit commits. (Before
        the commit another process could rebuild from the old rows under a new token.)"""
        self._forget()
        if transaction.get_connection().in_atomic_block:
            self._editing.on = True
            transaction.on_commit(self._invalidate_shared, robust=True)
        else:  # committed already (or no transaction): no need to touch the database
            self._invalidate_shared()

    def _forget(self) -> None:
        self._editing.on = False
        with self._lock:
            self._built, self._key = {}, None
        if _reading.versions is not None:
            _reading.versions.pop(self.version_key, None)

    def _invalidate_shared(self) -> None:
        # Tried even during a known outage: the other processes must see the edit.
        self._forget()
        optional_cache.delete(self.version_key, force=True)


def invalidate_on_save(tables: ProcessTables, *models: type[Model]) -> None:
    """Saving or deleting a row of these models (the admin, the Excel import, the loaders)
    invalidates `tables`. A queryset `update()` or bulk write sends no signal: its caller calls
    `tables.invalidate()` itself."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    def changed(**_kwargs) -> None:
        tables.invalidate()

    for model in models:
        uid = f"process-tables:{tables.version_key}:{model._meta.label}"
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)
        for m2m in model._meta.local_many_to_many:
            m2m_changed.connect(
                changed, sender=m2m.remote_field.through, weak=False, dispatch_uid=f"{uid}:m2m"
            )


def _connect_readings() -> None:
    from celery.signals import task_postrun, task_prerun
    from django.core.signals import request_finished, request_started

    request_started.connect(reading_start, dispatch_uid="process-tables:request-started")
    request_finished.connect(reading_end, dispatch_uid="process-tables:request-finished")
    task_prerun.connect(reading_start, weak=False, dispatch_uid="process-tables:task-prerun")
    task_postrun.connect(reading_end, weak=False, dispatch_uid="process-tables:task-postrun")


_connect_readings()


def forget_all() -> None:
    """Every family forgotten in this process (tests: a rolled-back test leaves nothing)."""
    for tables in _ALL:
        tables._forget()
