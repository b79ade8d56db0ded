"""`{% load shareddata %}`: the facts a source returned, as staff see them (numbers masked)."""

from django import template

from ..selectors import facts_shown

register = template.Library()


@register.filter
def shared_facts(record) -> list[tuple[str, str]]:
    return facts_shown(record) if record is not None else []
