"""`kuaiban.optional_cache`: a cache error is a miss, logged once per outage, and the cache is
not tried again for `KUAIBAN_CACHE_RETRY_SECONDS`, so a hung Redis costs one socket timeout per
interval, not one per call. Redis is real: a private server stopped, or a socket that never
answers."""

import logging
import socket
import time

import pytest
from django.core.cache import caches

from kuaiban import optional_cache

pytestmark = pytest.mark.django_db


def use_cache_at(settings, url: str, *, timeout: float = 0.3) -> None:
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


def test_with_redis_up_values_are_kept_and_read(private_redis):
    assert optional_cache.set("k", {"a": 1}, 60)
    assert optional_cache.get("k") == {"a": 1}
    assert optional_cache.add("k", "other", 60) is False  # exists
    assert optional_cache.delete("k")
    assert optional_cache.get("k", "missing") == "missing"
    assert not optional_cache.unavailable()


def test_with_redis_stopped_reads_miss_writes_fail_and_the_outage_is_logged_once(
    private_redis, caplog
):
    optional_cache.set("k", "v", 60)
    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="kuaiban.optional_cache"):
        assert optional_cache.get("k", "default") == "default"
        assert optional_cache.set("k", "v", 60) is False
        assert optional_cache.add("x", "v", 60) is False
        assert optional_cache.delete("k") is False
        assert optional_cache.unavailable()
    outage = [r for r in caplog.records if "cache unreachable" in r.getMessage()]
    assert len(outage) == 1 and outage[0].levelno == logging.WARNING


def test_a_hung_redis_costs_one_socket_timeout_per_retry_interval(settings, caplog):
    settings.KUAIBAN_CACHE_RETRY_SECONDS = 60
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        use_cache_at(settings, f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        assert optional_cache.get("k") is None
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(20):
            assert optional_cache.get("k") is None
            optional_cache.set("k", "v")
        rest = time.monotonic() - started
        caches["default"].close()
    assert 0.25 <= first < 2.0  # the socket timeout of the settings, once
    assert rest < 0.1  # not tried again within the interval: 40 calls, no timeout


def test_after_the_retry_interval_the_cache_is_tried_again_and_the_return_logged(
    settings, private_redis, caplog
):
    url = private_redis.url
    settings.KUAIBAN_CACHE_RETRY_SECONDS = 0
    use_cache_at(settings, "redis://127.0.0.1:1/0")  # nothing listens: refused
    assert optional_cache.get("k") is None and optional_cache.unavailable()
    use_cache_at(settings, url)
    with caplog.at_level(logging.WARNING, logger="kuaiban.optional_cache"):
        assert optional_cache.set("k", "back", 60)
    assert optional_cache.get("k") == "back"
    assert not optional_cache.unavailable()
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_the_calendar_is_built_from_the_database_with_redis_stopped(private_redis):
    from kuaiban.workdays.calendar import calendar_cache_invalidate, calendar_from_db

    shared = calendar_from_db()
    assert calendar_from_db() is shared  # kept while the shared version stands
    private_redis.stop()
    offline = calendar_from_db()
    assert offline is not shared  # rebuilt: the version cannot be read
    assert calendar_from_db() is offline  # and kept for the minute
    calendar_cache_invalidate()  # an edit during the outage: no error
    assert calendar_from_db() is not offline
