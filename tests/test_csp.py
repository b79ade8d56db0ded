"""The Content-Security-Policy: our own origin only, no inline code, no framing.

The browser journeys check every page they open for the header and for violations
(tests/browser/conftest.py); here the policy itself, and the templates that must keep to it.
"""

import re

import pytest
from django.conf import settings

from tests.factories import UserFactory

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.django_db
def test_pages_of_every_kind_carry_the_policy(client):
    supervisor = UserFactory(supervisor=True)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    pages = [(None, "/", 200), (None, "/accounts/login/", 200), (None, "/health/", 200)]
    pages += [(supervisor, "/supervision/dashboard/", 200), (supervisor, "/reports/exports/", 200)]
    pages += [(admin, "/admin/", 200), (None, "/no-such-page/", 404)]
    for user, url, status in pages:
        if user:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, url
        assert policy_of(response) == POLICY, url
        client.logout()


INLINE_CODE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_template_has_inline_code_the_policy_would_block():
    folders = [settings.PACKAGE_DIR / "templates"]
    folders += [path for path in settings.BASE_DIR.glob("*/templates") if path.is_dir()]
    found = []
    for folder in folders:
        for template in folder.rglob("*.html"):
            text = template.read_text()
            found += [(template.name, kind) for kind, rx in INLINE_CODE.items() if rx.search(text)]
    assert not found
