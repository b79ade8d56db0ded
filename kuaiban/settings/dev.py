"""The embedded default used by the README's set-up command: SQLite, DEBUG on, no broker."""

from .base import *  # noqa: F403

DEBUG = True
