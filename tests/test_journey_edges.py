"""The edges of a journey (issue 16 part 1): a registration set off from an application comes
back to it, staff start on their workbench, an applicant's start page shows what waits for
them, and the error pages are the portal's own, in Chinese with English available."""

import pytest
from django.test import Client

from kuaiban.accounts.identity import resident_id_check_char
from kuaiban.accounts.services import reference_identities_load
from kuaiban.cases.models import ApplicationState
from tests.builders import clerk_of, draft, reviewer_of, sms_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_registration_set_off_from_an_application_lands_back_in_it(client):
    """Rule JOURNEY-RETURN: 在线申请 → 注册 → back to the application, once verified."""
    apply = client.get("/apply/bundles/B10/")
    assert apply.status_code == 302 and "next=/apply/bundles/B10/" in apply["Location"]
    login_page = client.get(apply["Location"]).content.decode()
    assert 'href="/accounts/register/?next=/apply/bundles/B10/"' in login_page
    assert client.get("/accounts/register/?next=/apply/bundles/B10/").status_code == 200
    number = "32010219900307123" + resident_id_check_char("32010219900307123")
    reference_identities_load([("测试甲", number)])
    client.post(
        "/accounts/register/citizen/",
        {
            "real_name": "测试甲",
            "resident_id": number,
            "phone": "13800001234",
            "email": "",
            "password": "Kb-test-pass-2026",
            "password_confirm": "Kb-test-pass-2026",
            "agree": "on",
        },
    )
    confirmed = client.post("/accounts/register/confirm/", {"code": sms_code("13800001234")})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/apply/bundles/B10/"


def test_a_foreign_next_is_not_followed_after_registration(client):
    client.get("/accounts/register/?next=https://evil.example/")
    assert "kuaiban_after_registration" not in client.session


@pytest.mark.parametrize(
    ("make_user", "lands_on"),
    [
        (lambda: clerk_of("LABOUR"), "/staff/intake/"),
        (lambda: reviewer_of("SBZX"), "/staff/cases/"),
        (lambda: UserFactory(supervisor=True), "/supervision/"),
        (lambda: UserFactory(citizen=True), "/"),
    ],
)
def test_after_logging_in_staff_start_on_their_workbench(client, make_user, lands_on):
    client.force_login(make_user())
    assert client.get("/welcome/")["Location"] == lands_on


def test_the_start_page_shows_an_applicant_s_unfinished_applications(client):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    client.force_login(citizen)
    page = client.get("/").content.decode()
    assert 'data-testid="my-todo"' in page
    assert f"/applications/{application.reference}/review/" in page
    assert application.state == ApplicationState.DRAFT
    client.force_login(UserFactory(citizen=True))
    assert 'data-testid="my-todo"' not in client.get("/").content.decode()


def test_a_missing_page_is_the_portal_s_own_404_in_the_chosen_language(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'data-testid="error-404"' in response.content.decode()
    assert 'href="/guide/"' in response.content.decode()


def test_a_server_error_is_the_portal_s_own_page_without_the_database(settings):
    """The 500 page renders with no request context (the database may be what failed)."""
    from django.template.loader import get_template

    page = get_template("500.html").render({})
    assert 'data-testid="error-500"' in page and "12333" in page


def test_a_refused_form_post_is_the_portal_s_own_403():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert 'data-testid="error-403"' in response.content.decode()
