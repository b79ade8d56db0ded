"""Small helpers shared by the views of every app."""

from typing import TypeVar

from django.contrib import messages
from django.http import Http404

T = TypeVar("T")


def or_404(found: T | None) -> T:
    """What a selector found, or 404: a record the user may not see does not exist for them."""
    if found is None:
        raise Http404
    return found


def form_errors_as_messages(request, form) -> None:
    """Every error of an invalid form, as messages above the page it redirects to."""
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)
