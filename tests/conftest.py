import socket
import subprocess
import time

import pytest
from django.core.management import call_command


def load_reference_data():
    call_command("load_reference_data", verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with the real catalog, office hours and calendar loaded."""
    with django_db_blocker.unblock():
        load_reference_data()


@pytest.fixture
def committed_db(transactional_db):
    """A database whose writes really commit (threads, on_commit, Celery workers).

    Transactional tests end with a flush that empties every table; pytest-django runs them after
    all the others, and this fixture loads the reference data again where a flush removed it.
    """
    from kuaiban.catalog.models import Bundle

    if not Bundle.objects.exists():
        load_reference_data()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with empty caches: a rolled-back test must not leave its calendar or
    catalog behind."""
    from django.core.cache import cache

    from kuaiban import optional_cache, process_tables
    from kuaiban.workdays.calendar import calendar_cache_invalidate

    optional_cache.reset()
    cache.clear()
    calendar_cache_invalidate()
    process_tables.forget_all()
    yield
    optional_cache.reset()


class PrivateRedis:
    """A `redis-server` of one test's own, on a free port, without persistence: `stop()` kills
    it for real (the test then sees Redis as it is in an outage: connection refused)."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(settings):
    """The cache and Celery's broker on a Redis of this test's own (`PrivateRedis`), with the
    settings' socket timeouts; killed at the end of the test if the test did not stop it."""
    from django.core.cache import caches

    from kuaiban import optional_cache

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache"), "run with REDIS_URL"
    redis = PrivateRedis()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis.url}}
    settings.CELERY_BROKER_URL = redis.url
    optional_cache.reset()
    yield redis
    redis.stop()
    caches["default"].close()
    optional_cache.reset()


@pytest.fixture(autouse=True)
def _staff_log_ins_pass_the_second_factor(request, monkeypatch):
    """`client.force_login(user)` and `client.login(...)` of a staff account (a bureau role, or
    is_staff / is_superuser: `kuaiban.accounts.second_factor.required`) also pass the second
    factor, as a real log-in does after its TOTP code: the user gets a confirmed TOTPDevice (their
    own if they have one) and the session django-otp's marker `otp_device_id` = the device's
    persistent_id. So the tests of staff pages test those pages, not the two-factor page before
    them. Applicants' log-ins are untouched.

    Tests of the second factor itself opt out with `@pytest.mark.real_second_factor`: their staff
    log-ins are password-only sessions, as in production until a code is typed. Browser journeys
    (a live server, no test Client) type a real code in `tests/browser/conftest.py::log_in`.
    """
    if request.node.get_closest_marker("real_second_factor"):
        return
    from django.contrib.auth import SESSION_KEY, get_user_model
    from django.test import Client

    original_force_login, original_login = Client.force_login, Client.login

    def force_login(self, user, backend=None):
        original_force_login(self, user, backend)
        _second_factor_passed(self, user)

    def login(self, **credentials):
        logged_in = original_login(self, **credentials)
        if logged_in:
            user_id = self.session[SESSION_KEY]
            _second_factor_passed(self, get_user_model()._default_manager.get(pk=user_id))
        return logged_in

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)


def _second_factor_passed(client, user) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from kuaiban.accounts import second_factor

    if not second_factor.required(user):
        return
    device = second_factor.confirmed_device(user) or TOTPDevice.objects.create(
        user=user, name="tests", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads and exports of a test go to its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def eager(settings):
    """Celery runs tasks in-process (with REDIS_URL set the suite would otherwise queue them),
    as a worker would run them at commit; exports too (the demo's timer runner is for when no
    broker is there)."""
    from kuaiban.celery import app

    settings.KUAIBAN_EXPORTS_RUN_BY_TIMERS = False
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def citizen(db):
    from tests.factories import UserFactory

    return UserFactory(citizen=True, real_name="王小明")


@pytest.fixture
def other_citizen(db):
    from tests.factories import UserFactory

    return UserFactory(citizen=True)


@pytest.fixture
def enterprise(db):
    from tests.factories import UserFactory

    return UserFactory(enterprise=True)


@pytest.fixture
def clerk_of(db):
    """A window clerk serving the windows with these codes (`tests.builders.clerk_of`)."""
    from tests.builders import clerk_of

    return clerk_of


@pytest.fixture
def reviewer_of(db):
    """A back-office reviewer of the unit with this code, its head with head=True."""
    from tests.builders import reviewer_of

    return reviewer_of


@pytest.fixture(scope="session")
def oidc_provider():
    """The provincial identity platform's stand-in: a real OpenID provider on a free localhost
    port (tests/oidc_provider.py), one per test session; `reset()` it before use."""
    from tests.oidc_provider import Provider

    provider = Provider().start()
    yield provider
    provider.stop()
