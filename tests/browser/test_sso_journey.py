"""Single sign-on in a real browser: the login page's button takes Chromium to the provincial
platform's stand-in (tests/oidc_provider.py), which sends it back to the portal logged in."""

import pytest
from playwright.sync_api import expect

from kuaiban.accounts.models import User
from tests.factories import generated_resident_id
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.browser


def test_a_citizen_logs_in_through_the_provincial_platform(page, site, settings, oidc_provider):
    oidc_provider.reset()
    oidc_provider.redirect_uris = {f"{site}/accounts/sso/callback/"}
    settings.KUAIBAN_OIDC_ISSUER = oidc_provider.issuer
    settings.KUAIBAN_OIDC_CLIENT_ID = CLIENT_ID
    settings.KUAIBAN_OIDC_CLIENT_SECRET = CLIENT_SECRET
    number = generated_resident_id()
    oidc_provider.user = {"sub": "browser-0001", "name": "测试浏览器", "id_number": number}

    page.goto(f"{site}/accounts/login/?next=/accounts/profile/")
    page.click("[data-testid=sso-login]")
    page.wait_for_url(f"{site}/accounts/profile/")

    expect(page.locator("main")).to_contain_text("测试浏览器")
    account = User.objects.get(sso_subject="browser-0001")
    assert account.is_verified and account.resident_id == number
