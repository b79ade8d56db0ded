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
    """Each test starts with empty caches: a rolled-back test must not leave its calendar behind."""
    from django.core.cache import cache

    from kuaiban.workdays.calendar import calendar_cache_invalidate

    cache.clear()
    calendar_cache_invalidate()
    yield


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
