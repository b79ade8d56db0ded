"""The embedded default used by the README's set-up command: SQLite, no broker."""

from .base import *  # noqa: F403

# Development tools (the history generator), never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

# Off, so the demo shows the portal's own 404/403/500 pages as a user would meet them
# (`scripts/demo` serves the static files with `runserver --insecure`); DJANGO_DEBUG=1 for
# Django's debugging pages.
DEBUG = env_bool("DJANGO_DEBUG", False)  # noqa: F405

# The demo's timers finish a task every few seconds; a line for each would bury what the console
# is for, such as the SMS codes of a registration. Failures are still logged as errors.
LOGGING = {
    **LOGGING,  # noqa: F405
    # axes as in base.py: its narration of each log-in at INFO is quiet here too.
    # The departments' simulator polls the API every few seconds: runserver's line per request
    # would bury the SMS codes too (errors are still logged).
    "loggers": {
        "axes": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}
