"""`kuaiban.broker.publish`: one bounded attempt to queue a task. A real broker takes the message;
a dead one (nothing listens) or a hung one (accepts, never answers) costs at most the Redis
timeout of the settings, and the answer is False, never an exception."""

import json
import logging
import socket
import time

import pytest
import redis
from django.test import override_settings

from kuaiban import broker
from speedup.tasks import run_pending_recomputes

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def queued_tasks(url: str) -> list[str]:
    return [
        json.loads(raw)["headers"]["task"]
        for raw in redis.Redis.from_url(url).lrange("celery", 0, -1)
    ]


@pytest.mark.django_db
def test_a_reachable_broker_takes_the_message(private_redis):
    assert broker.publish(run_pending_recomputes)
    assert queued_tasks(private_redis.url) == ["speedup.run_pending_recomputes"]


def test_a_dead_broker_answers_false_at_once(caplog):
    with override_settings(CELERY_BROKER_URL=DEAD), caplog.at_level(logging.WARNING):
        started = time.monotonic()
        assert broker.publish(run_pending_recomputes) is False
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert "speedup.run_pending_recomputes not queued" in caplog.text


def test_a_hung_broker_answers_false_within_the_redis_timeout(settings):
    settings.REDIS_TIMEOUT_SECONDS = 0.5
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        with override_settings(CELERY_BROKER_URL=url):
            started = time.monotonic()
            assert broker.publish(run_pending_recomputes) is False
            elapsed = time.monotonic() - started
    assert elapsed < 2.0


@pytest.mark.django_db
def test_publishing_reuses_one_connection_and_recovers_after_an_outage(private_redis):
    """A request publishes over the process's open connection (a new one per request cost
    10-40 ms); after a failure the next publish opens a fresh one."""
    server = redis.Redis.from_url(private_redis.url)
    for _ in range(20):
        assert broker.publish(run_pending_recomputes)
    before = server.info("clients")["connected_clients"]
    for _ in range(20):
        assert broker.publish(run_pending_recomputes)
    assert server.info("clients")["connected_clients"] == before
    with override_settings(CELERY_BROKER_URL=DEAD):
        assert broker.publish(run_pending_recomputes) is False
    assert broker.publish(run_pending_recomputes)
    assert len(queued_tasks(private_redis.url)) == 41
