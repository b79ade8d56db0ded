"""The parts `/health/` checks: each answers "ok" or "down", within about a second.

A monitor must hear back quickly even when a part hangs, so every probe has its own short
timeout (the cache's from its socket timeouts, the broker's passed here) and no retries.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import DatabaseError, connection

from kuaiban import celery_app

logger = logging.getLogger("kuaiban.health")

OK, DOWN = "ok", "down"
BROKER_TIMEOUT_SECONDS = 1.0


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("health: the database does not answer")
        return DOWN
    return OK


def cache_status() -> str:
    """A write read back: the cache that shares the calendar between processes works."""
    token = secrets.token_hex(8)
    try:
        cache.set("health:probe", token, timeout=30)
        answered = cache.get("health:probe") == token
    except Exception:  # whatever the backend raises (connection refused, timeout …) means down
        logger.exception("health: the cache does not answer")
        return DOWN
    return OK if answered else DOWN


def broker_status() -> str:
    """One connection attempt to Celery's broker, as the tasks would make it."""
    timeout = BROKER_TIMEOUT_SECONDS
    try:
        with celery_app.connection_for_write(
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        ) as broker:
            broker.ensure_connection(max_retries=0, timeout=timeout)
    except Exception:  # kombu wraps the transport's errors in several kinds
        logger.exception("health: the Celery broker does not answer")
        return DOWN
    return OK
