"""How a staff action reports back: one service call, its refusal turned into messages."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed


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
        messages.error(request, _("You may not do this."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
        return True
    return False
