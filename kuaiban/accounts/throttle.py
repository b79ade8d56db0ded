"""Per-IP throttle on registration attempts (a fixed one-hour window in the cache).

Registration must not be usable to probe which ID numbers exist, so each client IP gets
``REGISTRATION_ATTEMPTS_PER_HOUR`` POSTs per hour. The cache is an aid, not a gate: when it
is unreachable (Redis down) the attempt is allowed rather than the page failing.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def registration_allowed(request) -> bool:
    """Count this registration POST against its IP; False once the hourly limit is passed."""
    limit = getattr(settings, "REGISTRATION_ATTEMPTS_PER_HOUR", 10)
    bucket = int(timezone.now().timestamp()) // WINDOW_SECONDS
    key = f"register-ip:{client_ip(request)}:{bucket}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        count = cache.incr(key)
    except Exception:  # a cache outage must not stop registration
        logger.warning("registration throttle: cache unavailable, attempt allowed")
        return True
    return count <= limit
