"""What every endpoint shares: who may call it (404 for anyone else, as on the pages), and one
service call with its refusal as an API error."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions, permissions, serializers, status

from kuaiban.accounts import security_log

T = TypeVar("T")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This was already handled by someone else; fetch it again.")
    default_code = "conflict"


class Refused(exceptions.APIException):
    """The service refused: `detail` lists its messages."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "refused"


def user_kind(test: Callable[[Any], bool]) -> type[permissions.BasePermission]:
    """A permission class: logged in (else 401), then 404 unless `test(user)`: an endpoint
    someone may not call does not exist for them."""

    class UserKind(permissions.BasePermission):
        def has_permission(self, request, view) -> bool:
            if not (request.user and request.user.is_authenticated):
                return False
            if not test(request.user):
                security_log.permission_refused(request._request)
                raise exceptions.NotFound()
            return True

    return UserKind


Applicants = user_kind(lambda user: user.is_applicant)


def run(request, call: Callable[[], T]) -> T:
    """Call one service: a refusal becomes 400 (its messages), a lost race 409, an actor the
    service refuses 403 (logged, as the desk logs it)."""
    try:
        return call()
    except (TransitionNotAllowed, ConcurrentTransition) as error:
        raise Conflict() from error
    except PermissionDenied as error:
        security_log.permission_refused(request._request, detail=request.path)
        raise exceptions.PermissionDenied() from error
    except ValidationError as error:
        raise Refused(detail=error.messages) from error


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField()
