"""Small helpers shared by the views of every app."""

import uuid
from datetime import date
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


def service_reported(request, call, success) -> bool:
    """Run one service call; its refusal (not allowed, or invalid) as error messages, else
    `success` as a message. True when it succeeded."""
    try:
        call()
    except PermissionDenied:
        messages.error(request, _("You may not do this."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
        return True
    return False


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


# The dates a page may be asked about: the programme's records start long after 2000, and a
# period reaching beyond next year means a typing error (and 9999-12-31 plus a few days is
# beyond what a date can hold).
EARLIEST_DATE = date(2000, 1, 1)


def latest_date(today: date | None = None) -> date:
    return date((today or timezone.localdate()).year + 1, 12, 31)


class PeriodDateField(forms.DateField):
    """A date from a URL or a form for a period: an ISO date between `EARLIEST_DATE` and the end
    of next year, else a form error that says which dates are allowed (the page then shows its
    default period with the message)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        kwargs.setdefault("widget", date_input())
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and len(value) > 32:  # no date is that long
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        latest = latest_date()
        if value and not EARLIEST_DATE <= value <= latest:
            raise forms.ValidationError(
                _("Choose a date between %(earliest)s and %(latest)s."),
                code="out_of_range",
                params={"earliest": EARLIEST_DATE.isoformat(), "latest": latest.isoformat()},
            )


def date_input() -> forms.DateInput:
    """A date picker whose value is written as the browser reads it (YYYY-MM-DD, whatever the
    language): a date shown again after saving is kept, not blanked by the browser."""
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
