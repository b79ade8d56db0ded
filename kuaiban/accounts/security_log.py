"""Login, failure and logout written to the "kuaiban.security" logger (issue 11 part 4).

Connected in AccountsConfig.ready(). The attempted username is logged for failures, never the
password (Django strips credentials it considers sensitive before the signal).
"""

import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

logger = logging.getLogger("kuaiban.security")


def _ip(request) -> str:
    if request is None:
        return "-"
    return request.META.get("REMOTE_ADDR") or "-"


def _path(request) -> str:
    return request.path if request is not None else "-"


def on_login(sender, request, user, **kwargs) -> None:
    logger.info("login_success user=%s ip=%s path=%s", user.pk, _ip(request), _path(request))


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    logger.warning(
        "login_failure username=%r ip=%s path=%s",
        credentials.get("username", ""),
        _ip(request),
        _path(request),
    )


def on_logout(sender, request, user, **kwargs) -> None:
    logger.info(
        "logout user=%s ip=%s path=%s", getattr(user, "pk", None), _ip(request), _path(request)
    )


def permission_refused(request) -> None:
    """A logged-in user opened a page their role does not allow (answered with a 404)."""
    logger.warning(
        "permission_refused user=%s ip=%s path=%s",
        getattr(request.user, "pk", None),
        _ip(request),
        _path(request),
    )


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="kuaiban.security.login")
    user_login_failed.connect(on_login_failed, dispatch_uid="kuaiban.security.login_failed")
    user_logged_out.connect(on_logout, dispatch_uid="kuaiban.security.logout")
