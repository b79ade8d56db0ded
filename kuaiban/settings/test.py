"""Test settings: whatever DATABASE_URL / REDIS_URL say (CI sets PostgreSQL and Redis)."""

import os
import re

# Under pytest-xdist each worker gets a Redis database of its own (the next ones after
# REDIS_URL's): the tests clear the cache (FLUSHDB) and read the broker's queue, so a shared
# database lets one worker empty another's process-table versions, dashboards and tasks. Set
# before the base settings read it; the processes the tests start (Celery workers, gunicorn)
# inherit it as it is, marked as moved already.
_worker = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
_redis = re.fullmatch(r"(redis://[^/]+)/(\d+)", os.environ.get("REDIS_URL", ""))
if _worker and _redis and "KUAIBAN_REDIS_PER_WORKER" not in os.environ:
    _db = (int(_redis[2]) + 1 + int(_worker[1])) % 16
    os.environ["REDIS_URL"] = f"{_redis[1]}/{_db}"
    os.environ["KUAIBAN_REDIS_PER_WORKER"] = _worker[0]

from .base import *  # noqa: E402, F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Generated requests (Schemathesis) call one operation hundreds of times a minute as one user;
# tests/api/test_throttling.py sets small allowances to test the throttle itself.
KUAIBAN_API_CALLS_PER_MINUTE = {"anonymous": 100_000, "person": 100_000, "department": 100_000}
