"""Small helpers for the supervision templates."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def lookup(mapping, key):
    """`mapping[key]` (empty when missing): the sort link of a column."""
    try:
        return mapping[key]
    except (KeyError, TypeError):
        return ""


@register.simple_tag
def sort_mark(current: str, key: str) -> str:
    """▲/▼ beside the column the list is sorted by."""
    if current == key:
        return "▲"
    if current == f"-{key}":
        return "▼"
    return ""


@register.filter
def duration(value: timedelta | None) -> str:
    """A lateness as days and hours ("3 天 4 小时" in Chinese)."""
    if value is None:
        return "—"
    total = int(value.total_seconds() // 60)
    days, rest = divmod(max(total, 0), 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage with `digits` decimals (98.6%); "—" for no value (nothing to
    divide by), never 0%."""
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def rate(figures, key: str) -> float | None:
    """The value of one 好差评 rate of a `Satisfaction` (`rating_figures.RATES` keys)."""
    return figures.rate(key).value


@register.filter
def rate_below_goal(figures, key: str) -> bool:
    return figures.rate(key).below_goal
