from django import template

from kuaiban.accounts import sso

register = template.Library()


@register.simple_tag
def sso_enabled() -> bool:
    """Whether the provincial platform's log-in is configured (the login page's button)."""
    return sso.enabled()
