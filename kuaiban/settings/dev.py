"""The embedded default used by the README's set-up command: SQLite, DEBUG on, no broker."""

from .base import *  # noqa: F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

DEBUG = True

# The demo's timers finish a task every few seconds; a line for each would bury what the console
# is for, such as the SMS codes of a registration. Failures are still logged as errors.
LOGGING = {
    **LOGGING,  # noqa: F405
    # axes as in base.py: its narration of each log-in at INFO is quiet here too.
    "loggers": {"axes": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}
