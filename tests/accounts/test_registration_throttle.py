"""Registration is throttled per client IP so it cannot be used to probe ID numbers."""

import time

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("accounts:register_citizen")
BAD = {"real_name": "测试乙", "resident_id": "not-a-number", "phone": "1", "password": "x"}


def post(client, ip):
    return client.post(URL, BAD, REMOTE_ADDR=ip)


def test_registration_is_refused_after_ten_attempts_per_ip_per_hour(client, settings):
    settings.REGISTRATION_ATTEMPTS_PER_HOUR = 10
    with time_machine.travel("2026-03-03 10:05:00+08:00", tick=False):
        for _ in range(10):
            assert post(client, "203.0.113.5").status_code == 200
        refused = post(client, "203.0.113.5")
        assert refused.status_code == 429
        assert refused.context["form"].non_field_errors() == [
            "您所在网络的注册尝试次数过多，请一小时后再试。"  # the portal speaks Chinese first
        ]
        assert post(client, "203.0.113.6").status_code == 200


def test_registration_throttle_resets_the_next_hour(client, settings):
    settings.REGISTRATION_ATTEMPTS_PER_HOUR = 2
    with time_machine.travel("2026-03-03 10:05:00+08:00", tick=False) as traveller:
        for _ in range(2):
            assert post(client, "203.0.113.7").status_code == 200
        assert post(client, "203.0.113.7").status_code == 429
        traveller.shift(3600)
        assert post(client, "203.0.113.7").status_code == 200


def test_registration_throttle_allows_the_attempt_when_the_cache_is_down(
    client, settings, private_redis
):
    """Redis stopped for real: the throttle cannot count, so registration goes on (the cache is
    an aid, not a gate), and the page answers at once."""
    settings.REGISTRATION_ATTEMPTS_PER_HOUR = 1
    private_redis.stop()
    for _ in range(3):
        started = time.monotonic()
        assert post(client, "203.0.113.8").status_code == 200
        assert time.monotonic() - started < 3
