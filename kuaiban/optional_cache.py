"""The cache (Redis) as an optimisation, never a dependency.

Every read and write of the shared cache by a page or the calendar goes through here: an error
(Redis stopped, refused, timed out) is a miss (`get` returns the default, writes do nothing),
logged once per outage, and for `KUAIBAN_CACHE_RETRY_SECONDS` afterwards the cache is not tried
at all, so a page pays the socket timeout (`KUAIBAN_REDIS_TIMEOUT`) at most once per interval and
process, not on every call. The first call that succeeds again ends the outage (logged).

`unavailable()` says whether the cache is down (the supervision pages show a notice with it;
templates get it lazily from `context`). `/health/` probes the cache directly instead: it must
see the real state at every call.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT

logger = logging.getLogger(__name__)
_PROBE_KEY = "optional-cache:probe"


class _Outage:
    """This process's view of the cache: down since when, and not tried again until when."""

    since: float | None = None
    retry_at: float = 0.0


_outage = _Outage()


def _retry_seconds() -> float:
    return float(getattr(settings, "KUAIBAN_CACHE_RETRY_SECONDS", 30))


def _skipped() -> bool:
    return _outage.since is not None and time.monotonic() < _outage.retry_at


def _failed(operation: str, key: str | list[str], error: Exception) -> None:
    now = time.monotonic()
    if _outage.since is None:
        _outage.since = now
        logger.warning(
            "cache unreachable (%s %s: %s: %s); pages are computed from the database and the "
            "cache is tried again every %.0f s",
            operation,
            key,
            type(error).__name__,
            error,
            _retry_seconds(),
        )
    _outage.retry_at = now + _retry_seconds()


def _succeeded() -> None:
    if _outage.since is not None:
        logger.warning("cache reachable again after %.0f s", time.monotonic() - _outage.since)
        _outage.since = None
        _outage.retry_at = 0.0


def _call(
    operation: str, key: str | list[str], fallback: Any, *args: Any, force: bool = False
) -> Any:
    if _skipped() and not force:
        return fallback
    try:
        result = getattr(cache, operation)(key, *args)
    except Exception as error:  # whatever the backend raises (refused, timeout, …) is a miss
        _failed(operation, key, error)
        return fallback
    _succeeded()
    return result


def get(key: str, default: Any = None) -> Any:
    """The cached value, or `default` when it is missing or the cache is unreachable."""
    return _call("get", key, default, default)


def get_many(keys: list[str]) -> dict[str, Any]:
    """The cached values of those keys that are present, in one round trip; {} when the cache
    is unreachable."""
    return _call("get_many", keys, {})


def set(key: str, value: Any, timeout: float | object | None = DEFAULT_TIMEOUT) -> bool:
    """Keep `value`; False when the cache is unreachable."""
    return _call("set", key, False, value, timeout) is not False


def add(key: str, value: Any, timeout: float | object | None = DEFAULT_TIMEOUT) -> bool:
    """Keep `value` unless the key exists; False when it exists or the cache is unreachable."""
    return bool(_call("add", key, False, value, timeout))


def add_if_reachable(
    key: str, value: Any, timeout: float | object | None = DEFAULT_TIMEOUT
) -> bool | None:
    """Keep `value` unless the key exists: True when this call set it, False when it was there,
    None when the cache is unreachable (a caller that must tell the two apart)."""
    result = _call("add", key, None, value, timeout)
    return None if result is None else bool(result)


def is_shared() -> bool:
    """Whether the default cache is one every process sees (Redis), not each process's own (the
    embedded default's in-process cache)."""
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    return not isinstance(caches["default"], LocMemCache | DummyCache)


def incr(key: str) -> int | None:
    """Add one to a counter that exists; None when it is missing or the cache is unreachable."""
    if _skipped():
        return None
    try:
        result = cache.incr(key)
    except ValueError:  # the key is missing (it expired between add and incr): not an outage
        return None
    except Exception as error:
        _failed("incr", key, error)
        return None
    _succeeded()
    return result


def delete(key: str, *, force: bool = False) -> bool:
    """Remove the key; False when the cache is unreachable. `force`: try even during an outage
    (an invalidation that other processes must see)."""
    return _call("delete", key, False, force=force) is not False


def unavailable() -> bool:
    """The cache is down: it failed within the retry interval, or fails now (one read, only
    when no outage is known)."""
    if _skipped():
        return True
    get(_PROBE_KEY)
    return _outage.since is not None


def reset() -> None:
    """Forget an outage (tests; a process that knows the cache is back)."""
    _outage.since = None
    _outage.retry_at = 0.0


def context(request) -> dict[str, Any]:
    """Template context: `cache_unavailable`, evaluated only by a template that asks for it."""
    return {"cache_unavailable": unavailable}
