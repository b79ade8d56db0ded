from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kuaiban.catalog.models import ServiceItem
from kuaiban.workdays.units import LimitUnit

register = template.Library()


def format_limit(amount: int | None, unit: str) -> str:
    if not amount or unit == LimitUnit.NONE:
        return _("no statutory limit")
    if unit == LimitUnit.WORKING_DAYS:
        return ngettext("%(n)d working day", "%(n)d working days", amount) % {"n": amount}
    return ngettext("%(n)d calendar day", "%(n)d calendar days", amount) % {"n": amount}


@register.simple_tag
def statutory_limit(item: ServiceItem) -> str:
    return format_limit(item.statutory_limit, item.statutory_unit)


@register.simple_tag
def committed_limit(item: ServiceItem) -> str:
    if item.is_instant:
        return _("instant: done within %(m)d office minutes of receipt") % {
            "m": item.instant_minutes
        }
    if item.statutory_mode:
        return _("statutory limit kept: %(reason)s") % {"reason": item.statutory_mode_reason}
    return format_limit(item.committed_limit, item.committed_unit)


@register.simple_tag
def extension(item: ServiceItem) -> str:
    if not item.extension_allowed:
        return _("not allowed")
    return _("may be extended by %(limit)s with approval") % {
        "limit": format_limit(item.extension_limit, item.extension_unit)
    }


@register.simple_tag
def reduction(item: ServiceItem) -> str:
    """How much faster than statutory the commitment is, e.g. '50%'; empty when unknown."""
    if item.statutory_mode or not item.statutory_limit:
        return ""
    if item.is_instant:
        return _("instant")
    if not item.committed_limit:
        return ""
    saved = 1 - item.committed_limit / item.statutory_limit
    return f"{saved:.0%}"
