"""Test settings: whatever DATABASE_URL / REDIS_URL say (CI sets PostgreSQL and Redis)."""

from .base import *  # noqa: F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
