"""The access log of personal data: a page or a download that shows someone's personal data
writes one `AccessLog` row, after the object was found for the user (a 404 writes nothing)."""

from __future__ import annotations

from django.http import HttpRequest

from kuaiban.requestid import current_request_id

from .models import AccessKind, AccessLog


def access_record(
    request: HttpRequest, kind: AccessKind, *, object_id: object, reference: str = ""
) -> AccessLog:
    """Who (the signed-in user), when, what kind, which object, the request id and the client's
    address (REMOTE_ADDR: the proxy in front must pass the client's address through)."""
    user = request.user if request.user.is_authenticated else None
    return AccessLog.objects.create(
        user=user,
        kind=kind,
        object_id=str(object_id),
        reference=reference,
        request_id=current_request_id.get(),
        ip=request.META.get("REMOTE_ADDR") or None,
    )
