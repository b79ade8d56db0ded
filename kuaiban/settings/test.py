"""Test settings: whatever DATABASE_URL / REDIS_URL say (CI sets PostgreSQL and Redis)."""

import os

from .base import *  # noqa: F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Generated requests (Schemathesis) call one operation hundreds of times a minute as one user;
# tests/api/test_throttling.py sets small allowances to test the throttle itself.
KUAIBAN_API_CALLS_PER_MINUTE = {"anonymous": 100_000, "person": 100_000, "department": 100_000}

# Under pytest-xdist each worker keys the shared Redis apart: one worker's catalog or calendar
# edit must not make another's process tables rebuild mid-test (the query-count tests see it).
if "KEY_PREFIX" in CACHES["default"]:  # noqa: F405
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    CACHES["default"]["KEY_PREFIX"] = f"{CACHES['default']['KEY_PREFIX']}{worker}"  # noqa: F405
