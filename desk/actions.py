"""How a staff action reports back: one service call, its refusal turned into messages."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from kuaiban.accounts import security_log


def run_service(request, call: Callable[[], object], success, *, not_allowed=None) -> bool:
    """Call one service; report its refusal as a message. True when it succeeded."""
    try:
        call()
    except TransitionNotAllowed:
        messages.error(
            request,
            not_allowed or _("This was already handled by someone else; please refresh."),
        )
    except ConcurrentTransition:
        messages.error(
            request, _("Someone else changed this at the same time; please refresh and retry.")
        )
    except PermissionDenied:
        security_log.permission_refused(request, detail=action_name(request))
        messages.error(request, _("You may not do this."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
        return True
    return False


def action_name(request) -> str:
    """The action asked for, for the security log: the URL's name, and the case action's verb
    (e.g. "staff:case_action deny")."""
    match = request.resolver_match
    if match is None:
        return request.path
    verb = match.kwargs.get("action")
    return f"{match.view_name} {verb}" if verb else match.view_name
