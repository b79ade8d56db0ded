"""Personal tokens of the open API: made from a logged-in session, presented as
`Authorization: Bearer kbp_<random>`, refused once expired or revoked.

A staff token lives `KUAIBAN_API_TOKEN_HOURS_STAFF` hours (default 8, a working day: like the
staff session it stands for), an applicant's `KUAIBAN_API_TOKEN_HOURS` (default 720)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from . import second_factor
from .crypto import keyed_hash
from .models import ApiToken

PREFIX = "kbp_"
# A token's last use is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return keyed_hash(f"api-token:{token}")


def token_lifetime(user) -> timedelta:
    if second_factor.required(user):
        return timedelta(hours=getattr(settings, "KUAIBAN_API_TOKEN_HOURS_STAFF", 8))
    return timedelta(hours=getattr(settings, "KUAIBAN_API_TOKEN_HOURS", 720))


def token_issue(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the token itself, which is never stored."""
    token, now = PREFIX + secrets.token_urlsafe(32), timezone.now()
    row = ApiToken.objects.create(
        user=user,
        name=name[:100],
        key_hash=_hash(token),
        created_at=now,
        expires_at=now + token_lifetime(user),
    )
    return row, token


def token_revoke(row: ApiToken) -> None:
    ApiToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def bearer(request) -> str | None:
    """The bearer token of a request, or None."""
    header = authentication.get_authorization_header(request).decode("latin-1")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """`Bearer kbp_…`; other bearer tokens are left to the other authentication classes."""

    def authenticate(self, request):
        token = bearer(request)
        if token is None or not token.startswith(PREFIX):
            return None
        now = timezone.now()
        row = (
            ApiToken.objects.select_related("user", "user__unit")
            .filter(key_hash=_hash(token), revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
