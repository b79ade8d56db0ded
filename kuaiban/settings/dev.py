"""The embedded default used by the README's set-up command: SQLite, DEBUG on, no broker."""

from .base import *  # noqa: F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

DEBUG = True
