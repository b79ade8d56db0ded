"""Display helpers for applications: personal numbers masked, answers in words."""

from collections.abc import Callable

from django import template
from django.utils.translation import gettext as _

from kuaiban.accounts.identity import mask_account, mask_phone, mask_resident_id
from kuaiban.catalog.models import FormField

register = template.Library()

_MASKS: dict[str, Callable[[str], str]] = {
    FormField.Kind.RESIDENT_ID: mask_resident_id,
    FormField.Kind.PHONE: mask_phone,
    FormField.Kind.BANK_ACCOUNT: mask_account,
}


@register.simple_tag
def form_value(form_field: FormField, value: str, unmasked: bool = False) -> str:
    """A form answer as shown on screen; personal numbers masked (staff pages, exports), unless
    `unmasked`: the applicant checking their own answers sees what they typed."""
    if not value:
        return "—"
    if form_field.kind in _MASKS and not unmasked:
        return _MASKS[form_field.kind](value)
    if form_field.kind == FormField.Kind.YES_NO:
        return _("Yes") if value == "yes" else _("No")
    return value


@register.simple_tag
def answer(answers: dict, code: str) -> str:
    value = (answers or {}).get(code)
    if value is None:
        return "—"
    return _("Yes") if value else _("No")


@register.simple_tag
def upload_limit_attrs():
    """A file input's limit for kuaiban/static/upload-limit.js, which refuses an over-large file
    before it is sent (the server stops one anyway, kuaiban/cases/uploads.py)."""
    from django.conf import settings
    from django.utils.html import format_html

    limit = settings.KUAIBAN_UPLOAD_MAX_BYTES
    return format_html(
        'data-max-bytes="{}" data-too-large="{}"',
        limit,
        _("The file is larger than %(mb)d MB; please choose a smaller scan (PDF, JPEG or PNG).")
        % {"mb": limit // (1024 * 1024)},
    )


@register.simple_tag
def upload_limits() -> str:
    """What an upload control accepts, stated before anything is chosen: the types and the size
    limit, as the server enforces them (kuaiban/cases/uploads.py, KUAIBAN_UPLOAD_MAX_BYTES)."""
    from django.conf import settings

    from kuaiban.cases import uploads

    return _("Accepted: %(types)s, up to %(mb)d MB per file.") % {
        "types": " / ".join(uploads.accepted_types()),
        "mb": uploads.megabytes(settings.KUAIBAN_UPLOAD_MAX_BYTES),
    }


@register.simple_tag
def upload_accept() -> str:
    from kuaiban.cases import uploads

    return uploads.accept_attribute()
