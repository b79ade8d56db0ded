"""`Authorization: Bearer kbd_<client id>.<secret>`: a department (or the platform) calling the
open API as its service account. Other bearer tokens are left to the other classes; a
`kbd_` credential that is unknown, wrong or revoked is refused (401)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from kuaiban.accounts.api_tokens import bearer

from .models import DepartmentClient
from .services import PREFIX, client_authenticate

# A client's last use is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=5)


class DepartmentClientAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = bearer(request)
        if token is None or not token.startswith(PREFIX):
            return None
        client = client_authenticate(token)
        if client is None or not client.service_account.is_active:
            raise exceptions.AuthenticationFailed()
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > TOUCH_EVERY:
            DepartmentClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client.service_account, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def calling_client(request) -> DepartmentClient | None:
    """The department client a DRF request authenticated as, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, DepartmentClient) else None
