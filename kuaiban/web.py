"""Small helpers shared by the views of every app."""

import uuid
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


def add_errors_to_form(form, errors: dict[str, list[str]]) -> None:
    """A service's errors (by field name) next to the fields they name; the rest above the
    form, so what was typed stays on the page with every message."""
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)


def start_key_parsed(value: object) -> uuid.UUID | None:
    """The start key an 'apply' page posted, or None when it is missing or malformed (a
    tampered page): the service then starts a fresh draft under a key of its own."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None
