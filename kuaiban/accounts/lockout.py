"""Log-in lock-outs (issue 11 part 4), on django-axes' database handler.

After ``AXES_FAILURE_LIMIT`` failed log-ins with one name from one IP address, that name is
locked for that address for ``AXES_COOLOFF_TIME``; the same name from another address is not.
Any name typed counts and locks alike, whether an account has it or not, and the locked-out page
is the same for both (kuaiban.accounts.views.locked_out), so a lock-out reveals nothing.

The name a failure counts under is `lock_name` (security_log.login_name, the name the security
log records): a resident ID number in any spelling of its final X is one name, kept only as a
keyed hash (an ID number is never stored in clear); a credit code in any case is one name;
anything else is the username as typed.

Each lock-out is a LOCKED_OUT security event; an administrator lifts one in the admin
(`unlock_attempts`, `unlock_accounts`), each an UNLOCKED event naming the administrator.
"""

from __future__ import annotations

from collections.abc import Iterable

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from . import security_log
from .crypto import keyed_hash
from .models import User

ID_PREFIX = security_log.ID_PREFIX


def lock_name(request, credentials: dict | None = None) -> str | None:
    """The name a log-in attempt counts under (axes' AXES_USERNAME_CALLABLE)."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    source = credentials if credentials else getattr(request, "POST", {})
    typed = source.get(field)
    if typed is None:
        return None
    return security_log.login_name(str(typed))


def names_of(user: User) -> set[str]:
    """Every lock name a user can log in with: the username, the credit code (registered or
    awaiting verification) and the ID number (verified or awaiting verification)."""
    names = {user.username}
    for code in (user.credit_code, user.pending_credit_code):
        if code:
            names.add(code)
    if user.resident_id:
        names.add(ID_PREFIX + keyed_hash(user.resident_id))
    return names


def account_for(name: str) -> User | None:
    """The one account a lock name stands for (None: no account, or several registrations of
    the number awaiting verification). For the security log only, never for the visitor."""
    if name.startswith(ID_PREFIX):
        digest = name.removeprefix(ID_PREFIX)
        query = Q(resident_id_hash=digest) | Q(pending_id_hash=digest, is_active=True)
    else:
        query = Q(username=name) | Q(credit_code=name) | Q(pending_credit_code=name)
    accounts = list(User.objects.filter(query)[:2])
    return accounts[0] if len(accounts) == 1 else None


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """A LOCKED_OUT event when a failure reaches the limit. Axes sends the signal again for each
    attempt refused while locked (those count nowhere and are LOGIN_FAILED events): only the
    failure that was counted (``axes_failures_since_start`` set) starts a lock-out."""
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures is None:
        return
    name = username or ""
    security_log.record(
        security_log.Kind.LOCKED_OUT,
        request,
        user=account_for(name) if name else None,
        username=name,
        detail=f"failures={failures}",
    )


@transaction.atomic
def unlock_attempts(attempts: QuerySet[AccessAttempt], *, actor: User, request=None, user=None):
    """Lift lock-outs (and forget the failures counted towards one): delete the attempts, one
    UNLOCKED event per name and address, with the administrator as actor. The number lifted."""
    lifted = 0
    rows = list(
        attempts.select_for_update().values_list(
            "pk", "username", "ip_address", "failures_since_start"
        )
    )
    groups: dict[tuple[str, str | None], int] = {}
    for _pk, name, ip, failures in rows:
        groups[(name or "", ip)] = groups.get((name or "", ip), 0) + failures
    AccessAttempt.objects.filter(pk__in=[row[0] for row in rows]).delete()
    for (name, ip), failures in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or "")):
        security_log.record(
            security_log.Kind.UNLOCKED,
            request,
            user=user if user is not None else account_for(name),
            username=name,
            actor=actor,
            detail=f"ip={ip or '-'} failures={failures}",
        )
        lifted += 1
    return lifted


def unlock_accounts(users: Iterable[User], *, actor: User, request=None) -> int:
    """Lift every lock-out of these accounts, under any name they log in with and from any
    address. The number of accounts that had one."""
    count = 0
    for user in users:
        attempts = AccessAttempt.objects.filter(username__in=names_of(user))
        if unlock_attempts(attempts, actor=actor, request=request, user=user):
            count += 1
    return count


def connect() -> None:
    user_locked_out.connect(on_locked_out, dispatch_uid="kuaiban.security.locked_out")
