"""The security log (issue 11 part 4): each fact is a `SecurityEvent` row (read-only in the
admin) and a line on the "kuaiban.security" logger, for the log shipper.

Log-ins, failures and log-outs come from Django's signals (connected in AccountsConfig.ready());
lock-outs, unlocks, second-factor failures, refusals and password changes are recorded where they
happen. The username typed at a failed log-in is kept (an ID number only as a keyed hash:
`login_name`), never the password (Django strips credentials it considers sensitive before the
signal).
"""

import logging
import re

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError

from kuaiban.requestid import current_request_id

from .crypto import keyed_hash
from .identity import normalize_credit_code, normalize_resident_id
from .models import SecurityEvent, SecurityEventKind

logger = logging.getLogger("kuaiban.security")
Kind = SecurityEventKind


def client_ip(request) -> str | None:
    """The client's address (REMOTE_ADDR: the proxy in front must pass it through)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    kind: SecurityEventKind,
    request=None,
    *,
    user=None,
    username: str = "",
    actor=None,
    detail: str = "",
) -> SecurityEvent:
    """Write one security event and its log line."""
    if user is not None and getattr(user, "pk", None) is None:
        user = None  # AnonymousUser
    event = SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=(username or (user.get_username() if user else ""))[:150],
        actor=actor,
        ip=client_ip(request),
        path=(request.path if request is not None else "")[:200],
        request_id=current_request_id.get(),
        detail=detail[:200],
    )
    logger.log(
        logging.WARNING if kind in _WARNINGS else logging.INFO,
        "%s user=%s username=%r ip=%s path=%s%s",
        kind.value,
        event.user_id,
        event.username,
        event.ip or "-",
        event.path or "-",
        f" actor={actor.pk}" if actor is not None else "",
    )
    return event


_WARNINGS = frozenset(
    {
        Kind.LOGIN_FAILED,
        Kind.LOCKED_OUT,
        Kind.SECOND_FACTOR_FAILED,
        Kind.PERMISSION_REFUSED,
        Kind.REGISTRATION_THROTTLED,
    }
)


def on_login(sender, request, user, **kwargs) -> None:
    record(Kind.LOGIN, request, user=user)


ID_PREFIX = "id:"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def login_name(typed: str) -> str:
    """The name a log-in attempt is logged and counted under (kuaiban/accounts/lockout.py): a
    resident ID number in any spelling of its final X is one name, kept only as a keyed hash
    (never in clear, nor a mistyped one); a credit code in any case is one name; anything else
    is as typed."""
    try:
        return ID_PREFIX + keyed_hash(normalize_resident_id(typed))
    except ValidationError:
        pass
    try:
        return normalize_credit_code(typed)
    except ValidationError:
        pass
    if _ID_SHAPE.match(typed.strip().upper()):  # a mistyped ID number is personal data too
        return ID_PREFIX + keyed_hash(typed.strip().upper())
    return typed[:150]


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    record(Kind.LOGIN_FAILED, request, username=login_name(str(credentials.get("username", ""))))


def on_logout(sender, request, user, **kwargs) -> None:
    record(Kind.LOGOUT, request, user=user)


def permission_refused(request, detail: str = "") -> None:
    """A logged-in user opened a page, or asked for an action, their role does not allow."""
    record(Kind.PERMISSION_REFUSED, request, user=request.user, detail=detail)


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="kuaiban.security.login")
    user_login_failed.connect(on_login_failed, dispatch_uid="kuaiban.security.login_failed")
    user_logged_out.connect(on_logout, dispatch_uid="kuaiban.security.logout")
