"""Gunicorn's settings for the portal: `gunicorn -c python:kuaiban.gunicorn_conf kuaiban.wsgi`.

Everything machine-specific comes from the environment (scripts/serve lists the variables).
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("KUAIBAN_BIND", "127.0.0.1:8000").split(",")
# The usual rule for synchronous workers: two per core plus one.
workers = int(os.environ.get("KUAIBAN_WEB_WORKERS", str(2 * multiprocessing.cpu_count() + 1)))
# Load Django once in the master and fork it: workers start fast and share its memory. Django
# opens database and Redis connections lazily, so no connection is shared across the fork.
preload_app = True
# A request that takes longer than this is a stuck worker: it is killed and replaced. Exports
# run in Celery, so no page needs long.
timeout = int(os.environ.get("KUAIBAN_WEB_TIMEOUT", "30"))
# On SIGTERM a worker finishes what it is answering for this long before it is killed.
graceful_timeout = int(os.environ.get("KUAIBAN_WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak never grows unbounded.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory, not on a disk that may stall (containers, network volumes).
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
proc_name = "kuaiban-web"
# Recent gunicorns open a control socket in $HOME by default, one path for every instance on
# the machine; nothing here uses it (versions without the setting ignore it).
control_socket_disable = True

# Access log on stdout, with the request id the portal gives every answer (X-Request-ID).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s"
)


def post_fork(server, worker):
    """The preloaded app's objects (modules, the URLconf, the catalog code) live as long as the
    worker: frozen, the garbage collector never scans them again and their pages stay shared
    with the master (P1: about 10% more submissions per second)."""
    import gc

    gc.freeze()
