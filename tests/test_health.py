"""`/health/` for monitors: the database, the cache (Redis), Celery's broker and the calendar.

Parts are taken down for real: the cache or the broker pointed at a port where nothing listens
(refused at once) or at a socket that accepts and never answers (a hung Redis), which only the
socket timeouts of the settings can cut short.
"""

import socket
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from kuaiban import celery_app

SH = ZoneInfo("Asia/Shanghai")
DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
QUICK_SECONDS = 3.0  # a monitor's patience: the health page answers within it

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _june():
    """A day whose next 90 days are in a loaded calendar year."""
    with time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=SH)):
        yield


@pytest.fixture
def hung_redis():
    """The URL of a "Redis" that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


def cache_at(url: str):
    """The configured Redis cache (its socket timeouts included), moved to `url`."""
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), "needs REDIS_URL"
    return override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": url}})


@pytest.fixture
def broker_at():
    conf = celery_app.conf
    saved = conf.broker_url

    def move(url: str) -> None:
        conf.broker_url = url

    yield move
    conf.broker_url = saved


def timed_health(client):
    started = time.monotonic()
    response = client.get("/health/")
    return response, time.monotonic() - started


def test_all_parts_up_answers_200_with_each_part_ok(client):
    assert celery_app.conf.broker_url.startswith("redis://"), "run with REDIS_URL: a real broker"
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["database"], body["cache"], body["broker"]) == ("ok", "ok", "ok")
    assert body["calendar"]["status"] == "ok" and body["calendar"]["missing_years"] == []
    assert "no-cache" in response["Cache-Control"]


@time_machine.travel(datetime(2026, 11, 26, 10, tzinfo=SH))
def test_a_missing_calendar_year_is_a_warning_not_an_outage(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warning"
    assert body["calendar"]["status"] == "warning" and body["calendar"]["missing_years"] == [2027]


def test_a_dead_cache_answers_503_at_once(client):
    with cache_at(DEAD):
        response, elapsed = timed_health(client)
        caches["default"].close()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["cache"] == "down"
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert elapsed < QUICK_SECONDS


def test_a_hung_cache_answers_503_within_the_socket_timeout(client, hung_redis):
    with cache_at(hung_redis):
        response, elapsed = timed_health(client)
        caches["default"].close()
    assert response.status_code == 503
    assert response.json()["cache"] == "down"
    assert elapsed < QUICK_SECONDS


def test_a_dead_broker_answers_503(client, broker_at):
    broker_at(DEAD)
    response, elapsed = timed_health(client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["broker"] == "down"
    assert body["database"] == "ok" and body["cache"] == "ok"
    assert elapsed < QUICK_SECONDS


def test_a_hung_broker_answers_503_within_a_second_or_so(client, broker_at, hung_redis):
    broker_at(hung_redis)
    response, elapsed = timed_health(client)
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert elapsed < QUICK_SECONDS
