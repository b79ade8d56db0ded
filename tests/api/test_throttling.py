"""Rule API-THROTTLE: each caller has an allowance of calls a minute (anonymous by address, a
person by account, a department's client by client), answered 429 with Retry-After beyond it;
without the cache (Redis down) calls are allowed, the API never fails on its counter."""

import pytest

from kuaiban.accounts.api_tokens import token_issue
from kuaiban.departments.models import DepartmentClient
from kuaiban.departments.services import client_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CATALOG = "/api/v1/catalog/bundles/"


@pytest.fixture
def small_allowance(settings):
    settings.KUAIBAN_API_CALLS_PER_MINUTE = {"anonymous": 3, "person": 3, "department": 5}


def calls(client, n, path=CATALOG, **headers) -> list[int]:
    return [client.get(path, **headers).status_code for _ in range(n)]


def test_rule_api_throttle_an_anonymous_caller_waits_after_its_allowance(client, small_allowance):
    assert calls(client, 3) == [200, 200, 200]
    refused = client.get(CATALOG)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "detail" in refused.json()


def test_rule_api_throttle_each_caller_is_counted_on_its_own(client, small_allowance):
    assert calls(client, 4)[-1] == 429  # the anonymous address is spent
    person = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=UserFactory())[1]}"}
    other = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=UserFactory())[1]}"}
    mine = "/api/v1/applications/"
    assert calls(client, 4, mine, **person) == [200, 200, 200, 429]
    assert calls(client, 1, mine, **other) == [200]  # another person has their own allowance
    platform = client_issue(kind=DepartmentClient.Kind.PLATFORM)
    as_client = {"HTTP_AUTHORIZATION": f"Bearer {platform.credential}"}
    # A client has the larger allowance.
    assert calls(client, 6, "/api/v1/metrics/", **as_client) == [200] * 5 + [429]


def test_rule_api_throttle_without_the_cache_calls_are_allowed(
    client, small_allowance, private_redis
):
    private_redis.stop()
    assert calls(client, 5) == [200] * 5
