import pytest

from tests.factories import UserFactory


@pytest.fixture
def eager():
    """Celery runs tasks in-process (with REDIS_URL set the suite would otherwise queue them)."""
    from kuaiban.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True)
