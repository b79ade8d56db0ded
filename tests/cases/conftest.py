import pytest

from kuaiban.catalog.models import Unit, Window
from tests.factories import UserFactory


@pytest.fixture
def clerk_of(db):
    def make(*window_codes):
        clerk = UserFactory(clerk=True)
        clerk.windows.add(*Window.objects.filter(code__in=window_codes))
        return clerk

    return make


@pytest.fixture
def reviewer_of(db):
    def make(unit_code, *, head=False):
        return UserFactory(reviewer=True, unit=Unit.objects.get(code=unit_code), is_unit_head=head)

    return make
