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

    from kuaiban.workdays.selectors import calendar_changed

    cache.clear()
    calendar_changed()
    yield


@pytest.fixture
def clerk_of(db):
    """A window clerk serving the windows with these codes."""
    from kuaiban.catalog.models import Window
    from tests.factories import UserFactory

    def make(*window_codes):
        clerk = UserFactory(clerk=True)
        clerk.windows.add(*Window.objects.filter(code__in=window_codes))
        return clerk

    return make


@pytest.fixture
def reviewer_of(db):
    """A back-office reviewer of the unit with this code (its head with head=True)."""
    from kuaiban.catalog.models import Unit
    from tests.factories import UserFactory

    def make(unit_code, *, head=False):
        return UserFactory(reviewer=True, unit=Unit.objects.get(code=unit_code), is_unit_head=head)

    return make
