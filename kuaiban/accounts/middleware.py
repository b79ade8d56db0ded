"""Staff sessions (issue 11 part 4), after the authentication and the messages:

- `OTPDeviceMiddleware`: django-otp's OTPMiddleware without its `user.is_verified()` method,
  which would shadow our User's `is_verified` field (the applicant's real-name verification):
  `request.user.otp_device` is the confirmed TOTP device that verified this session, or None.
- `StaffSessionMiddleware`: a staff session ends after KUAIBAN_STAFF_IDLE_MINUTES without a
  request, and KUAIBAN_STAFF_SESSION_HOURS after the log-in whatever the activity
  (SESSION_EXPIRED; the person is sent to log in again, with a message saying why).
  Applicants' sessions keep Django's SESSION_COOKIE_AGE.
- `SecondFactorMiddleware`: a staff session that no TOTP code has verified opens nothing but
  the two-factor pages, the log-outs, the language switch, /health/ and static files; every other
  page redirects to the two-factor page (which enrols or verifies) and comes back with ?next=.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import ngettext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from . import second_factor, security_log

STARTED = "kuaiban_session_started"  # Unix seconds of the log-in
LAST_ACTIVITY = "kuaiban_last_activity"  # Unix seconds of the last request, to the minute
# The last activity is rewritten at most this often: not a session write on every request.
ACTIVITY_RESOLUTION_SECONDS = 60

# The pages an unverified staff session may open (URL names).
OPEN_WITHOUT_SECOND_FACTOR = frozenset(
    {
        "accounts:two_factor",
        "accounts:two_factor_setup",
        "logout",
        "admin:logout",
        "set_language",
        "health",
    }
)


def _now() -> float:
    return timezone.now().timestamp()


def on_login(sender, request, user, **kwargs) -> None:
    """A staff log-in starts the session's clocks (connected in AccountsConfig.ready())."""
    if request is not None and hasattr(request, "session") and second_factor.required(user):
        now = _now()
        request.session[STARTED] = now
        request.session[LAST_ACTIVITY] = now


class OTPDeviceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None:
            request.user = SimpleLazyObject(functools.partial(self._with_device, request, user))
        return self.get_response(request)

    @staticmethod
    def _with_device(request, user):
        user.otp_device = None
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if user.is_authenticated and persistent_id:
            device = Device.from_persistent_id(persistent_id)
            if device is not None and device.user_id == user.pk and device.confirmed:
                user.otp_device = device
        if user.otp_device is None and persistent_id:
            del request.session[DEVICE_ID_SESSION_KEY]
        return user


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if second_factor.required(request.user):
            expired = self._expired(request)
            if expired:
                return expired
        return self.get_response(request)

    def _expired(self, request):
        session = request.session
        now = _now()
        started = session.get(STARTED)
        last = session.get(LAST_ACTIVITY)
        if started is None or last is None:  # a session from before these clocks
            session[STARTED] = session[LAST_ACTIVITY] = now
            return None
        idle_minutes = settings.KUAIBAN_STAFF_IDLE_MINUTES
        lifetime_hours = settings.KUAIBAN_STAFF_SESSION_HOURS
        if now - last > idle_minutes * 60:
            reason = f"idle {int((now - last) // 60)} min"
            message = ngettext(
                "Your session ended after %(minutes)d minute without activity. "
                "Please log in again.",
                "Your session ended after %(minutes)d minutes without activity. "
                "Please log in again.",
                idle_minutes,
            ) % {"minutes": idle_minutes}
        elif now - started > lifetime_hours * 3600:
            reason = f"lifetime {lifetime_hours} h"
            message = ngettext(
                "Your session ended: a staff session lasts at most %(hours)d hour. "
                "Please log in again.",
                "Your session ended: a staff session lasts at most %(hours)d hours. "
                "Please log in again.",
                lifetime_hours,
            ) % {"hours": lifetime_hours}
        else:
            if now - last >= ACTIVITY_RESOLUTION_SECONDS or now < last:
                session[LAST_ACTIVITY] = now
            return None
        security_log.record(
            security_log.Kind.SESSION_EXPIRED, request, user=request.user, detail=reason
        )
        logout(request)
        messages.warning(request, message)
        return redirect_to_login(request.get_full_path())


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not second_factor.required(user) or second_factor.verified(user):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_WITHOUT_SECOND_FACTOR:
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        return redirect_to_login(request.get_full_path(), login_url=reverse("accounts:two_factor"))
