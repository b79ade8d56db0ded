"""The production run, for real: `scripts/serve` with the production settings on this test run's
PostgreSQL database and Redis starts gunicorn (with kuaiban/gunicorn_conf.py), a Celery worker
and beat; the portal answers `/health/` and serves its collected, compressed static files; beat's
tasks reach the worker; SIGTERM stops every process it started.

Production settings rather than the test settings: they are what the script runs, and the test
database and Redis make them practical (e-mail and SMS point at addresses nothing is sent to).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.production_env import PROJECT, current_database_url, production_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy in front adds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(url: str, headers: dict[str, str] | None = None):
    """(status, headers, body) of a GET, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our own server)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until(condition, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = condition()
        except OSError:  # not listening yet
            found = None
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds} s; the log ends:\n{log.read_text()[-4000:]}")


def processes_in_group(group: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def test_serve_runs_web_worker_and_beat_and_stops_them_together(committed_db, tmp_path):
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    venv_bin = Path(sys.executable).parent
    env = production_env(
        DATABASE_URL=current_database_url(),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        KUAIBAN_BIND=f"127.0.0.1:{port}",
        KUAIBAN_WEB_WORKERS="2",
        KUAIBAN_WORKER_CONCURRENCY="1",
        KUAIBAN_VAR_DIR=str(tmp_path / "var"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        KUAIBAN_MEDIA_ROOT=str(tmp_path / "media"),
        KUAIBAN_SWEEP_SECONDS="1",  # beat sends the deadline sweep every second
        VIRTUAL_ENV=str(venv_bin.parent),  # this environment is ready: install nothing
        PATH=f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        HOME=str(tmp_path),
    )
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        serve = subprocess.Popen(
            [str(PROJECT / "scripts" / "serve")],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: every process it starts is in it
        )
    try:
        status, _, body = wait_until(
            lambda: (answer := get(f"{site}/health/")) and answer[0] == 200 and answer,
            150,
            "/health/ answered 200",
            log,
        )
        assert b'"database": "ok"' in body and b'"cache": "ok"' in body
        assert b'"broker": "ok"' in body

        # Production redirects plain HTTP; behind the proxy the page links hashed static names.
        assert get(f"{site}/")[0] == 301
        status, headers, page = get(f"{site}/", HTTPS)
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        css = re.search(rb'href="(/static/kuaiban\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:2000]
        status, headers, _ = get(site + css[1].decode(), {**HTTPS, "Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert headers["Content-Encoding"] == "gzip"
        assert "immutable" in headers["Cache-Control"]

        # Beat's sweep reaches the worker, which runs it.
        sweep_done = re.compile(r"Task speedup\.sweep_deadlines\[[^\]]+\] succeeded")
        wait_until(
            lambda: sweep_done.search(log.read_text()),
            60,
            "the worker ran a sweep sent by beat",
            log,
        )
        assert "Booting worker" in log.read_text()  # gunicorn's own workers

        started = processes_in_group(serve.pid)
        assert len(started) >= 6  # the script, gunicorn and 2 workers, celery and 1 child, beat
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, log.read_text()[-4000:]
        wait_until(lambda: not processes_in_group(serve.pid), 10, "every process stopped", log)
    finally:
        if serve.poll() is None or processes_in_group(serve.pid):
            os.killpg(serve.pid, signal.SIGKILL)  # a failed test leaves nothing running
            serve.wait(timeout=10)
