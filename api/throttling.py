"""How often a caller may call the API: a fixed one-minute window per caller, counted in the
cache through `optional_cache` (Redis down: the call is allowed, as for the registration
throttle; the API never fails because its counter is unreachable).

A department's client (the provincial platform polls) has the larger allowance; a person with a
token or a session the ordinary one; an anonymous caller (the public catalog) is counted by its
address. The limits are settings (`KUAIBAN_API_CALLS_PER_MINUTE`).
"""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from kuaiban import optional_cache
from kuaiban.accounts.throttle import client_ip
from kuaiban.departments.authentication import calling_client

WINDOW_SECONDS = 60


def caller(request) -> tuple[str, str]:
    """(kind, key): who is counted. The kind names the allowance in the setting."""
    if (client := calling_client(request)) is not None:
        return "department", f"client:{client.pk}"
    if request.user and request.user.is_authenticated:
        return "person", f"user:{request.user.pk}"
    return "anonymous", f"ip:{client_ip(request)}"


class CallerThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        kind, key = caller(request)
        limit = settings.KUAIBAN_API_CALLS_PER_MINUTE[kind]
        now = time.time()
        window = int(now) // WINDOW_SECONDS
        counter = f"api-calls:{key}:{window}"
        optional_cache.add(counter, 0, timeout=WINDOW_SECONDS + 5)
        count = optional_cache.incr(counter)
        self.seconds_left = max(1, WINDOW_SECONDS - int(now) % WINDOW_SECONDS)
        return count is None or count <= limit

    def wait(self) -> float:
        return self.seconds_left
