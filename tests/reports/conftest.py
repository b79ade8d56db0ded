import pytest

from tests.factories import UserFactory


@pytest.fixture
def supervisor(db):
    return UserFactory(supervisor=True)
