"""Per-IP throttles on registration and password-reset attempts (a fixed one-hour window in the
cache).

Neither may be usable to probe which ID numbers, credit codes or mobile numbers have accounts,
so each client IP gets ``REGISTRATION_ATTEMPTS_PER_HOUR`` registration POSTs and
``PASSWORD_RESET_ATTEMPTS_PER_HOUR`` password-reset requests per hour. The cache is an aid, not a
gate: when it is unreachable (Redis down) the attempt is allowed rather than the page failing.
"""

from django.conf import settings
from django.utils import timezone

from kuaiban import optional_cache

WINDOW_SECONDS = 3600


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _allowed(request, scope: str, limit: int) -> bool:
    """Count this attempt against its IP; False once the hourly limit is passed."""
    bucket = int(timezone.now().timestamp()) // WINDOW_SECONDS
    key = f"{scope}-ip:{client_ip(request)}:{bucket}"
    optional_cache.add(key, 0, timeout=WINDOW_SECONDS)
    count = optional_cache.incr(key)
    # Without the cache (an outage, logged once by optional_cache) the attempt is allowed.
    return count is None or count <= limit


def registration_allowed(request) -> bool:
    """Count this registration POST against its IP; False once the hourly limit is passed."""
    return _allowed(request, "register", getattr(settings, "REGISTRATION_ATTEMPTS_PER_HOUR", 10))


def password_reset_allowed(request) -> bool:
    """Count this password-reset request against its IP; False once the hourly limit is passed."""
    return _allowed(
        request, "password-reset", getattr(settings, "PASSWORD_RESET_ATTEMPTS_PER_HOUR", 10)
    )


def verification_allowed(request) -> bool:
    """Count this look-up of a document's verification code against its IP; False once the
    hourly limit is passed (the codes cannot be guessed; this stops scraping the page)."""
    return _allowed(request, "verify", settings.VERIFICATION_ATTEMPTS_PER_HOUR)
