"""P1 of docs/quality.md: bundle submissions over HTTP against gunicorn on PostgreSQL.

    python bench/run.py --only p1         # 2,000 submissions, 12 at a time, 3 gunicorn workers
    python bench/run.py --only p1 --p1-workers 4 --p1-concurrency 16 --p1-submissions 4000

Set-up (not timed): N generated citizens and N ready applications for the bundle (B07: four item
cases), cloned in bulk from one application made ready through the services (the same answers,
form and materials; the clones share the template's uploaded files, which a submission never
reads); a logged-in session per citizen written straight to the session table, and a CSRF
cookie and form token from Django's own `get_token`, as the review page would give the browser.

Timed: gunicorn (`kuaiban/gunicorn_conf.py`, W sync workers) on the bench's settings and
database, and a plain asyncio HTTP client with C connections sending each citizen's final submit
exactly as the browser does (POST to the review page with the session and CSRF cookies, the form
token, the pre-check warnings the page showed, Origin and Referer). A 302 to the confirmation
page counts; anything else is an error. Afterwards the database must hold exactly N submitted
applications with their item cases. Where the CPU went meanwhile is read from /proc (Linux):
gunicorn's workers, this client, and the rest of the machine (PostgreSQL, Redis), per
submission, and the rate that much CPU allows with every core busy (on a machine whose cores
are all busy, the ceiling, whatever the number of workers), and the rate the database's share
alone would allow.

The floor, after the timed run: the same POSTs again. Every application is submitted by then, so
each is answered by the middleware (session, account, CSRF), one read of the application and a
redirect to its status page: what any signed-in POST costs before the submission's own work.
The line says how much CPU the target rate leaves for that work once the client and PostgreSQL
took what they took.

Against: the same rows written by raw SQL in the same run. One submission runs through the
service once (rolled back) with its INSERT, UPDATE and DELETE statements captured; each of N
other ready applications then gets those statements replayed (its own ids, reference and key
substituted) as one psycopg2 transaction, C connections at a time.

gunicorn gets the bench's settings module (`kuaiban.settings.test` unless DJANGO_SETTINGS_MODULE
says otherwise: DEBUG off, the same middleware, sessions, CSRF and Content-Security-Policy as
production; production's HTTPS redirect and secure cookies need TLS in front and its mail/SMS
checks need gateways, neither of which a submission touches) and a real Redis: REDIS_URL, or
redis://127.0.0.1:6379/15, so a submission queues its e-mail and SMS on Celery's broker as in
production (nobody consumes them; the bench's own default queue is emptied afterwards).
gunicorn logs warnings only; P1_LOG_LEVEL=INFO keeps its access log (with each request's time).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from kuaiban.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"
TARGET_RATE = 200  # submissions/s
TARGET_P95 = 0.150  # s


# -- set-up: citizens, ready applications, sessions -----------------------------------------------


def _citizens(count: int, tag: str) -> list:
    """`count` generated citizens (valid check digits, never real people), in bulk."""
    from django.contrib.auth.hashers import make_password

    from devtools.history import USERNAME_PREFIX
    from kuaiban.accounts.crypto import keyed_hash
    from kuaiban.accounts.identity import resident_id_check_char
    from kuaiban.accounts.models import Role, User

    taken = set(
        User.objects.exclude(resident_id_hash=None).values_list("resident_id_hash", flat=True)
    )
    unusable = make_password(None)
    users: list[User] = []
    serial = 0
    while len(users) < count:
        serial += 1
        born = date(1950, 1, 1) + timedelta(days=serial // 1000)
        first17 = f"321002{born:%Y%m%d}{serial % 1000:03d}"
        number = first17 + resident_id_check_char(first17)
        if keyed_hash(number) in taken:
            continue
        i = len(users)
        user = User(
            username=f"{USERNAME_PREFIX}p1-{tag}-{i:06d}",
            password=unusable,
            email=f"p1-{tag}-{i:06d}@example.invalid",
            role=Role.CITIZEN,
            real_name=f"压测{i}号",
            display_name=f"压测{i}号",
            phone=f"139{serial % 10**8:08d}",
            is_verified=True,  # submitting needs a real-name verified account
            verification_source="generated",
        )
        user.set_resident_id(number)
        users.append(user)
    return User.objects.bulk_create(users, batch_size=1000)


def _ready_applications(users: list, bundle: str) -> list:
    """One application made ready through the services for the first user, then a clone of it
    for every other user (draft, the same answers, form and materials), in bulk."""
    import uuid

    from django.utils import timezone

    from kuaiban.cases.models import Application, ApplicationMaterial, CaseEvent, EventAction
    from kuaiban.cases.references import reference_number
    from tests.builders import ready_application

    template = ready_application(users[0], bundle)
    provided = list(template.materials.all())

    def clone(obj, **changes):
        fields = type(obj)._meta.concrete_fields
        values = {f.attname: getattr(obj, f.attname) for f in fields if not f.primary_key}
        return type(obj)(**(values | changes))

    now = timezone.now()
    references = {template.reference}
    while len(references) < len(users):
        references.add(reference_number(now))
        if len(references) == len(users):
            # Random suffixes may repeat those of applications already there (P3's history
            # holds hundreds of thousands created today): drawn again.
            references -= set(
                Application.objects.filter(reference__in=references).values_list(
                    "reference", flat=True
                )
            ) - {template.reference}
    references.discard(template.reference)
    apps = Application.objects.bulk_create(
        (
            clone(
                template,
                applicant_id=user.pk,
                reference=reference,
                submission_key=uuid.uuid4(),
                created_at=now,
            )
            for user, reference in zip(users[1:], sorted(references), strict=True)
        ),
        batch_size=1000,
    )
    ApplicationMaterial.objects.bulk_create(
        (clone(row, application_id=app.pk) for app in apps for row in provided), batch_size=2000
    )
    CaseEvent.objects.bulk_create(
        (
            CaseEvent(
                application=app,
                action=EventAction.CREATE,
                actor_id=app.applicant_id,
                to_state=app.state,
                data={},
            )
            for app in apps
        ),
        batch_size=2000,
    )
    return [template, *apps]


def _logged_in(users: list) -> list[dict[str, str]]:
    """A session per user, as the login view leaves it, and a CSRF cookie and form token as the
    review page gives the browser: the cookies and token each user's browser would send."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.http import HttpRequest
    from django.middleware.csrf import get_token
    from django.utils import timezone

    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    rows, browsers = [], []
    for user in users:
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user.pk),
            # The backend that logs applicants in (the first one only refuses locked-out names).
            BACKEND_SESSION_KEY: "kuaiban.accounts.backends.IdentityNumberBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        request = HttpRequest()
        token = get_token(request)
        browsers.append(
            {"session": key, "csrf_cookie": request.META["CSRF_COOKIE"], "csrf_token": token}
        )
    Session.objects.bulk_create(rows, batch_size=2000)
    return browsers


# -- gunicorn ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(settings: dict) -> str:
    """The URL of the database this process uses (under pytest: the test database)."""
    from urllib.parse import quote

    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{settings['NAME']}"


class Gunicorn:
    """gunicorn with the portal's config file on a free local port, its log in a file."""

    def __init__(self, workers: int, redis_url: str):
        from django.db import connection

        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="p1-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        env = os.environ | {
            "KUAIBAN_BIND": f"127.0.0.1:{self.port}",
            "KUAIBAN_WEB_WORKERS": str(workers),
            "DATABASE_URL": _database_url(connection.settings_dict),  # the bench's own
            "REDIS_URL": redis_url,
            "LOG_LEVEL": os.environ.get("P1_LOG_LEVEL", "WARNING"),
            # P1 measures the submission itself; fetching shared data is the departments'
            # latency, outside its transaction (kuaiban/shareddata), so it is switched off here.
            "KUAIBAN_SHARED_DATA_PROVIDER": "off",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "python:kuaiban.gunicorn_conf"]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*command, "kuaiban.wsgi"], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.tail()}")
            try:
                if httpx.get(f"{self.base}/health/", timeout=5).status_code < 600:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.tail()}")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


# -- where the CPU went -------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None when the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _gunicorn_cpu(master: int) -> float:
    """CPU seconds of gunicorn: its live workers, and the workers it already reaped (a worker
    recycled by `max_requests` mid-run is counted in the master's children's time)."""
    fields = _proc_stat(master)
    if fields is None:
        return 0.0
    # After the name: state, ppid, … utime is the 12th field, stime, cutime, cstime follow.
    ticks = sum(int(value) for value in fields[11:15])
    for entry in Path("/proc").iterdir():
        worker = _proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if worker is not None and int(worker[1]) == master:
            ticks += int(worker[11]) + int(worker[12])
    return ticks / _CLOCK_TICKS


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    total = sum(values[:8])  # guest time is already counted in user time
    return (total - idle) / _CLOCK_TICKS, total / _CLOCK_TICKS


class CpuShare:
    """Where the machine's CPU went while the timed submissions ran: gunicorn's workers, this
    load generator (this process), and the rest of the machine (PostgreSQL, Redis). Linux only
    (/proc); elsewhere `figures` is empty."""

    def __init__(self, master: int):
        self.master = master
        self.available = Path("/proc/stat").exists() and _proc_stat(master) is not None

    def __enter__(self) -> CpuShare:
        if self.available:
            self._web, self._machine = _gunicorn_cpu(self.master), _machine_cpu()
            self._client = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        if self.available:
            web, (busy, total) = _gunicorn_cpu(self.master), _machine_cpu()
            self.client = time.process_time() - self._client
            self.web = web - self._web
            self.busy = busy - self._machine[0]
            self.total = total - self._machine[1]

    def figures(self, submissions: int) -> dict:
        if not self.available or not submissions or not self.total:
            return {}
        web_ms = 1000 * self.web / submissions
        client_ms = 1000 * self.client / submissions
        database_ms = max(1000 * (self.busy - self.web - self.client) / submissions, 0.0)
        cores = os.cpu_count() or 1
        spent = web_ms + client_ms + database_ms
        return {
            "cpu_web_ms": web_ms,
            "cpu_client_ms": client_ms,
            "cpu_database_ms": database_ms,
            "busy": self.busy / self.total,
            # With every core busy, this much CPU per submission allows at most this rate ...
            "cpu_bound_rate": cores * 1000 / spent if spent else 0.0,
            # ... and the database's share alone, were the portal's Python free.
            "database_bound_rate": cores * 1000 / database_ms if database_ms else 0.0,
        }


# -- the load generator -----------------------------------------------------------------------


def _warnings_shown(applications: list) -> list[list[str]]:
    """Per application, the pre-check warnings its review page shows (and posts back)."""
    from bundles.selectors import planned_items
    from bundles.services.submission import precheck, warnings_of

    return [sorted(warnings_of(precheck(app, planned_items(app)))) for app in applications]


def _submit_request(base: str, application, browser: dict[str, str], warnings: list[str]) -> dict:
    """The final submit exactly as the browser posts it from the review page: the form token,
    the warnings the page showed, the consent."""
    from urllib.parse import urlencode

    from django.conf import settings

    page = f"{base}/applications/{application.reference}/review/"
    fields = [("csrfmiddlewaretoken", browser["csrf_token"])]
    fields += [("warning_seen", code) for code in warnings] + [("consent", "on")]
    return {
        "url": page,
        "content": urlencode(fields).encode(),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={browser['session']}; "
            f"{settings.CSRF_COOKIE_NAME}={browser['csrf_cookie']}",
            "Origin": base,
            "Referer": page,
            "Accept": "text/html,application/xhtml+xml",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "User-Agent": "Mozilla/5.0 (kuaiban bench P1)",
        },
        "done": f"/applications/{application.reference}/done/",
    }


def _status_path(request: dict) -> str:
    """Where the review page sends the browser once the application is submitted."""
    return request["done"].removesuffix("done/")


def _raw_request(request: dict) -> bytes:
    """The request as the bytes on the wire (built before the clock starts)."""
    from urllib.parse import urlsplit

    url = urlsplit(request["url"])
    headers = {
        "Host": url.netloc,
        **request["headers"],
        "Content-Length": str(len(request["content"])),
        "Connection": "close",  # gunicorn's sync workers close after each response anyway
    }
    head = f"POST {url.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + request["content"]


async def _exchange(host: str, port: int, raw: bytes, timeout: float) -> tuple[int, str, bytes]:
    """Send one request on a new connection; (status, Location, the start of the body)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        body = await asyncio.wait_for(reader.read(), timeout)  # up to the close
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    location = next(
        (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("location:")),
        "",
    )
    return status, location, body[:200]


async def _post_all(requests: list[dict], concurrency: int) -> tuple[float, list[float], list]:
    """Send every request, `concurrency` at a time; (wall seconds, latencies, errors).

    A plain asyncio HTTP/1.1 client (the request bytes built beforehand): on this 2-core machine
    the load generator shares the CPU with gunicorn and PostgreSQL, so it does as little as it
    can per request. A 302 to the request's confirmation page counts; anything else is an error."""
    from urllib.parse import urlsplit

    latencies: list[float] = []
    errors: list = []
    pending = iter([(request, _raw_request(request)) for request in requests])

    async def user() -> None:
        for request, raw in pending:
            url = urlsplit(request["url"])
            started = time.perf_counter()
            try:
                status, location, body = await _exchange(url.hostname, url.port, raw, 60)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                errors.append(repr(error))
                continue
            latencies.append(time.perf_counter() - started)
            if status != 302 or not location.endswith(request["done"]):
                errors.append(f"{status} {location or body.decode(errors='replace')}")

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies, errors


def _floor_line(figures: dict, cores: int) -> str:
    """What the web's part costs before the submission's own work (the same POSTs once the
    applications are submitted: the session, the account, one read, a redirect), and what the
    target leaves for that work when the rest of the machine takes what it took."""
    line = (
        f"  floor: the same {figures['submissions']:,} POSTs again, each application now "
        f"submitted (session, account, one read, a redirect): {figures['floor_rate']:,.0f}/s"
    )
    if "floor_web_ms" not in figures or "cpu_web_ms" not in figures:
        return line
    budget = cores * 1000 / TARGET_RATE  # CPU ms per submission with every core busy
    left = budget - figures["cpu_client_ms"] - figures["cpu_database_ms"]
    return (
        f"{line}, gunicorn {figures['floor_web_ms']:.1f} ms each; a submission's own work "
        f"{figures['cpu_web_ms'] - figures['floor_web_ms']:.1f} ms. {TARGET_RATE}/s on "
        f"{cores} cores allows {budget:.1f} ms of CPU per submission: with the client's and "
        f"PostgreSQL's as above, {left:.1f} ms for gunicorn, {left - figures['floor_web_ms']:.1f}"
        " ms for the submission's own work"
    )


# -- the raw SQL baseline -----------------------------------------------------------------------

# Columns whose values name the submitted application, its applicant or its new cases, and what
# they name: replayed with the other application's own values. Everything else is written as
# captured.
_IDENTITY_COLUMNS = {
    "id": "application",  # UPDATE cases_application … WHERE id
    "application_id": "application",
    "applicant_id": "user",
    "actor_id": "user",
    "recipient_id": "user",
    "item_case_id": "case",
    "reference": "text",
    "submission_key": "text",
}
_INSERT = re.compile(r'^INSERT INTO "(\w+)" \(([^)]*)\)')
_COMPARISON = re.compile(r'"(\w+)" (?:= %s|IN \(((?:%s(?:, )?)+)\))')


class _Statement:
    """A captured write, replayable with another application's identity."""

    def __init__(self, sql: str, params):
        self.sql, self.params = sql, list(params or ())
        self.returning_cases = sql.startswith('INSERT INTO "cases_itemcase"') and "RETURNING" in sql
        if match := _INSERT.match(sql):
            columns = [c.strip().strip('"') for c in match.group(2).split(",")]
            if "UNNEST" in sql:  # one array per column
                self.layout, self.columns = "arrays", columns
            else:  # VALUES rows, flat
                self.layout = "rows"
                self.columns = columns * (len(self.params) // len(columns))
        else:
            self.layout, self.columns = "flat", []
            for name, in_list in _COMPARISON.findall(sql):
                self.columns.extend([name] * (in_list.count("%s") if in_list else 1))
        if len(self.columns) != len(self.params):
            raise RuntimeError(f"cannot map the parameters of a captured statement: {sql[:200]}")

    def params_for(self, identity: dict[str, dict]) -> list:
        params = []
        for column, value in zip(self.columns, self.params, strict=True):
            if kind := _IDENTITY_COLUMNS.get(column):
                names = identity[kind]
                if self.layout == "arrays":
                    value = [names.get(v, v) for v in value]
                else:
                    value = names.get(value, value)
            params.append(value)
        return params


class _Rollback(Exception):
    pass


def _captured_writes(application) -> list[_Statement]:
    """The INSERT, UPDATE and DELETE statements one submission runs (through the service, then
    rolled back: nothing stays and nothing is queued)."""
    from django.db import connection, transaction

    from bundles.services.submission import application_submit

    writes: list[_Statement] = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            if many:
                raise RuntimeError("a submission ran executemany; the bench cannot replay it")
            writes.append(_Statement(sql, params))
        return execute(sql, params, many, context)

    try:
        with transaction.atomic(), connection.execute_wrapper(capture):
            application_submit(application=application, actor=application.applicant)
            raise _Rollback
    except _Rollback:
        pass
    return writes


def _identity(application) -> dict:
    return {
        "application": application.pk,
        "user": application.applicant_id,
        "reference": application.reference,
        "key": application.submission_key,
    }


def _raw_sql_submissions(
    statements: list[_Statement], template: dict, targets: list[dict], concurrency: int
) -> float:
    """Replay the captured writes for every target application, one transaction each,
    `concurrency` connections at a time; the wall time."""
    import psycopg2
    from django.db import connection

    settings = connection.settings_dict
    if sum(s.returning_cases for s in statements) != 1:
        raise RuntimeError("a submission should insert its item cases in one statement")
    template_cases = _captured_case_ids(statements)  # what the captured event rows name
    pending = iter(targets)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run() -> None:
        db = psycopg2.connect(
            dbname=settings["NAME"],
            user=settings["USER"] or None,
            password=settings["PASSWORD"] or None,
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
        )
        try:
            while True:
                with lock:
                    target = next(pending, None)
                if target is None:
                    return
                identity: dict[str, dict] = {
                    "application": {template["application"]: target["application"]},
                    "user": {template["user"]: target["user"]},
                    "text": {
                        template["reference"]: target["reference"],
                        template["key"]: target["key"],
                    },
                    "case": {},
                }
                with db, db.cursor() as cursor:  # one transaction, committed
                    for statement in statements:
                        cursor.execute(statement.sql, statement.params_for(identity))
                        if statement.returning_cases:
                            new = [row[0] for row in cursor.fetchall()]
                            identity["case"] = dict(zip(template_cases, new, strict=True))
        except BaseException as error:  # reported by the caller
            failures.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"raw SQL replay failed: {failures[0]!r}")
    return wall


def _captured_case_ids(statements: list[_Statement]) -> list[int]:
    """The ids the captured submission gave its cases (named by its events)."""
    for statement in statements:
        if (
            statement.sql.startswith('INSERT INTO "cases_caseevent"')
            and statement.layout == "arrays"
        ):
            ids = statement.params[statement.columns.index("item_case_id")]
            return [i for i in ids if i is not None]
    raise RuntimeError("the captured submission wrote no case events")


# -- the workload ------------------------------------------------------------------------------


def p1_submissions(
    submissions: int = 2000,
    *,
    concurrency: int = 12,
    workers: int = 3,
    bundle: str = "B07",
    warmup: int | None = None,
    out: Callable[[str], None] = print,
) -> dict:
    """Submissions/s, p50/p95 and errors over HTTP against gunicorn, and the raw SQL
    transactions/s writing the same rows in the same run (see the module's docstring)."""
    from django.db import connection

    from kuaiban.cases.models import Application, ApplicationState, ItemCase

    warmup = warmup if warmup is not None else 4 * workers
    tag = secrets.token_hex(3)
    started = time.perf_counter()
    people = _citizens(1 + warmup + 2 * submissions, tag)
    applications = _ready_applications(people, bundle)
    capture_app, rest = applications[0], applications[1:]
    warm, timed, raw = (
        rest[:warmup],
        rest[warmup : warmup + submissions],
        rest[warmup + submissions :],
    )
    browsers = _logged_in(people[1 : 1 + warmup + submissions])
    shown = _warnings_shown(warm + timed)
    statements = _captured_writes(capture_app)
    set_up = time.perf_counter() - started
    connection.close()  # the bench's own connection stays out of the timed phase

    redis_url = os.environ.get("REDIS_URL") or BENCH_REDIS_URL
    server = Gunicorn(workers, redis_url)
    try:
        server.wait_ready()
        requests = [
            _submit_request(server.base, app, browser, warnings)
            for app, browser, warnings in zip(warm + timed, browsers, shown, strict=True)
        ]
        # Every worker opens its connections and fills its caches before the clock starts.
        _, _, warm_errors = asyncio.run(_post_all(requests[:warmup], min(concurrency, warmup)))
        if warm_errors:
            raise RuntimeError(f"warm-up submissions failed: {warm_errors[:3]}\n{server.tail()}")
        with CpuShare(server.process.pid) as cpu:
            wall, latencies, errors = asyncio.run(_post_all(requests[warmup:], concurrency))
        # The floor: the same POSTs again. Each application is submitted now, so the page only
        # reads the session, the account and the application and redirects to its status page.
        again = [request | {"done": _status_path(request)} for request in requests[warmup:]]
        with CpuShare(server.process.pid) as floor_cpu:
            floor_wall, _, floor_errors = asyncio.run(_post_all(again, concurrency))
    finally:
        server.stop()
    if redis_url == BENCH_REDIS_URL:
        import redis

        redis.Redis.from_url(redis_url).delete("celery")  # the bench's own queued deliveries

    raw_wall = _raw_sql_submissions(
        statements, _identity(capture_app), [_identity(app) for app in raw], concurrency
    )

    def landed(apps: list) -> tuple[int, int]:
        ids = [app.pk for app in apps]
        return (
            Application.objects.filter(pk__in=ids, state=ApplicationState.SUBMITTED).count(),
            ItemCase.objects.filter(application_id__in=ids).count(),
        )

    cases_each = len(_captured_case_ids(statements))
    http_landed, raw_landed = landed(timed), landed(raw)
    rate = submissions / wall
    raw_rate = submissions / raw_wall
    p50 = percentile(latencies, 0.5) or float("nan")
    p95 = percentile(latencies, 0.95) or float("nan")
    figures = {
        "submissions": submissions,
        "concurrency": concurrency,
        "workers": workers,
        "rate": rate,
        "p50": p50,
        "p95": p95,
        "errors": len(errors),
        "raw_rate": raw_rate,
        "ratio": rate / raw_rate,
        "landed": http_landed,
        "raw_landed": raw_landed,
        "cases_each": cases_each,
        "statements": len(statements),
        "set_up_s": set_up,
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "floor_rate": submissions / floor_wall,
        "floor_errors": len(floor_errors),
    } | cpu.figures(submissions)
    if floor_figures := floor_cpu.figures(submissions):
        figures["floor_web_ms"] = floor_figures["cpu_web_ms"]
    met = rate >= TARGET_RATE and p95 <= TARGET_P95 and not errors
    out(
        f"P1 bundle submissions over HTTP: {submissions:,} submissions, {concurrency} concurrent, "
        f"{workers} gunicorn workers: {rate:,.0f}/s (target ≥ {TARGET_RATE}/s), "
        f"p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms (target ≤ {TARGET_P95 * 1000:.0f} "
        f"ms), errors {len(errors)}; raw SQL: {raw_rate:,.0f}/s; ratio {rate / raw_rate:.2f}"
    )
    out(
        f"  {bundle}, {cases_each} item cases each; targets {'met' if met else 'NOT met'}; "
        f"set-up {set_up:,.1f} s (citizens, ready applications, sessions; not timed)"
    )
    out(
        f"  landed: {http_landed[0]:,} applications submitted over HTTP with {http_landed[1]:,} "
        f"item cases; raw SQL: {raw_landed[0]:,} with {raw_landed[1]:,} "
        f"({len(statements)} statements per transaction, {concurrency} connections)"
    )
    if "cpu_web_ms" in figures:
        out(
            f"  CPU per submission: gunicorn's workers {figures['cpu_web_ms']:.1f} ms, this "
            f"client {figures['cpu_client_ms']:.1f} ms, PostgreSQL, Redis and the rest "
            f"{figures['cpu_database_ms']:.1f} ms; the {os.cpu_count()} cores were "
            f"{figures['busy']:.0%} busy: that CPU allows about {figures['cpu_bound_rate']:,.0f}/s"
            f", the database's share alone about {figures['database_bound_rate']:,.0f}/s"
        )
    out(_floor_line(figures, os.cpu_count() or 1))
    for error in (errors + floor_errors)[:5]:
        out(f"  error: {error}")
    return figures
