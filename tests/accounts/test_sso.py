"""Single sign-on through the provincial identity platform, end to end: the Django test client
opens the login page's SSO link, the browser's hop to the platform is a real HTTP request to the
provider in tests/oidc_provider.py, and its redirect brings the code back to the portal, which
exchanges it over real HTTP and verifies the RS256 ID token against the provider's keys.

The claims → account rule (kuaiban/accounts/sso.py): the subject links first; claims never make
or link staff; a person is linked by the verified account holding their ID number, claims their
window-only record, or gets a new verified account; an unverified registration of the number is
never linked."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from bundles.services import window
from kuaiban.accounts import services, sso
from kuaiban.accounts.crypto import keyed_hash
from kuaiban.accounts.models import Role, SecurityEvent, SecurityEventKind, User
from kuaiban.catalog.models import Bundle
from tests.builders import clerk_of
from tests.factories import (
    UserFactory,
    generated_credit_code,
    generated_phone,
    generated_resident_id,
    reference_identity,
)
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(oidc_provider, settings):
    """The portal configured for the provider, which starts each test with nobody logged in."""
    oidc_provider.reset()
    settings.KUAIBAN_OIDC_ISSUER = oidc_provider.issuer
    settings.KUAIBAN_OIDC_CLIENT_ID = CLIENT_ID
    settings.KUAIBAN_OIDC_CLIENT_SECRET = CLIENT_SECRET
    return oidc_provider


def person(**extra):
    """Claims of a person the platform has verified (a generated identity)."""
    n = generated_resident_id()
    return {"sub": f"p-{n[-8:]}", "name": "测试单点", "id_number": n, **extra}


def round_trip(client, platform, *, next_url="", tamper_state=False):
    """Login page → the platform (auto-approves `platform.user`) → back with code and state."""
    page = client.get("/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    assert 'data-testid="sso-login"' in page.content.decode()
    start = client.get("/accounts/sso/login/", {"next": next_url} if next_url else {})
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{platform.issuer}/authorize?")
    hop = requests.get(authorize, allow_redirects=False, timeout=10)
    assert hop.status_code == 302, hop.text
    back = urlsplit(hop.headers["Location"])
    assert (back.netloc, back.path) == ("testserver", "/accounts/sso/callback/")
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    if tamper_state:
        query["state"] = query["state"][:-2] + ("AA" if query["state"][-2:] != "AA" else "BB")
    return client.get(f"{back.path}?{urlencode(query)}")


def logged_in(client) -> User | None:
    pk = client.session.get(SESSION_KEY)
    return User.objects.get(pk=pk) if pk else None


def refused(response, client, reason: str) -> bool:
    """Back at the login page, nobody logged in, the refusal in the security log for `reason`."""
    details = SecurityEvent.objects.filter(kind=SecurityEventKind.SSO_REFUSED).values_list(
        "detail", flat=True
    )
    return (
        response.status_code == 302
        and response["Location"] == "/accounts/login/"
        and logged_in(client) is None
        and any(reason in detail for detail in details)
    )


# -- the flow ------------------------------------------------------------------------------------


def test_a_new_citizen_gets_a_verified_account_and_is_logged_in(client, platform):
    phone = generated_phone()
    platform.user = person(phone_number=f"+86 {phone}", phone_number_verified=True)
    response = round_trip(client, platform)

    assert response.status_code == 302
    assert response["Location"] == "/welcome/"  # the landing page: an applicant goes home
    account = logged_in(client)
    assert account is not None
    assert account.sso_subject == platform.user["sub"]
    assert account.role == Role.CITIZEN
    assert (account.is_verified, account.verification_source) == (True, "sso")
    assert account.resident_id == platform.user["id_number"]
    assert account.resident_id_hash == keyed_hash(platform.user["id_number"])
    assert account.phone == phone and account.phone_verified_at is not None
    assert not account.has_usable_password()
    kinds = set(SecurityEvent.objects.filter(user=account).values_list("kind", flat=True))
    assert {SecurityEventKind.SSO_LINKED, SecurityEventKind.LOGIN} <= kinds


def test_the_page_asked_for_is_where_the_platform_log_in_ends(client, platform):
    platform.user = person()
    response = round_trip(client, platform, next_url="/accounts/profile/")
    assert response["Location"] == "/accounts/profile/"


def test_an_unverified_phone_claim_does_not_fill_the_phone(client, platform):
    platform.user = person(phone_number=generated_phone(), phone_number_verified=False)
    round_trip(client, platform)
    account = logged_in(client)
    assert account is not None and account.phone == "" and account.phone_verified_at is None


def test_a_later_log_in_finds_the_account_by_subject(client, platform):
    platform.user = person()
    round_trip(client, platform)
    first = logged_in(client)
    client.post("/accounts/logout/")
    # The platform's later assertion carries the same subject; the number is not needed again.
    platform.user = {"sub": platform.user["sub"], "name": "测试单点"}
    round_trip(client, platform)
    assert logged_in(client) == first
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.SSO_LINKED).count() == 1


def test_a_verified_account_is_linked_by_the_id_number(client, platform):
    existing = UserFactory(citizen=True)
    platform.user = person(id_number=existing.resident_id)
    round_trip(client, platform)
    assert logged_in(client) == existing
    existing.refresh_from_db()
    assert existing.sso_subject == platform.user["sub"]
    assert existing.has_usable_password()  # the local log-in stays


def test_a_window_only_record_is_claimed_with_its_applications(client, platform):
    number, phone = generated_resident_id(), generated_phone()
    application = window.window_intake_start(
        clerk=clerk_of("BUNDLE"),
        resident_id=number,
        real_name="测试窗口",
        phone=phone,
        bundle=Bundle.objects.get(code="B10"),
    )
    record = application.applicant
    assert record.window_only
    platform.user = person(id_number=number, name="测试窗口")
    round_trip(client, platform)

    account = logged_in(client)
    assert account is not None and account.pk == record.pk
    assert not account.window_only
    assert (account.is_verified, account.verification_source) == (True, "sso")
    assert account.sso_subject == platform.user["sub"]
    assert client.get(f"/applications/{application.reference}/").status_code == 200


def test_an_unverified_registration_of_the_number_is_never_linked(client, platform):
    squatter = UserFactory(citizen=True, unverified=True, phone_verified_at=timezone.now())
    platform.user = person(id_number=squatter.resident_id)
    round_trip(client, platform)

    account = logged_in(client)
    assert account is not None and account.pk != squatter.pk
    assert account.is_verified
    assert account.resident_id_hash == keyed_hash(squatter.resident_id)
    squatter.refresh_from_db()
    assert (squatter.is_verified, squatter.sso_subject, squatter.resident_id_hash) == (
        False,
        None,
        None,
    )
    # Were the registration ever to pass the check, the number is taken: the person's it stays.
    reference_identity(squatter)
    assert services.identity_verify(user=squatter).taken
    assert User.objects.get(resident_id_hash=keyed_hash(squatter.resident_id)) == account


def test_a_new_enterprise_gets_a_verified_account_by_its_credit_code(client, platform):
    code = generated_credit_code()
    platform.user = {
        "sub": f"e-{code}",
        "name": "测试单点企业有限公司",
        "credit_code": code,
        "legal_representative": "测试法人",
    }
    round_trip(client, platform)
    account = logged_in(client)
    assert account is not None
    assert (account.role, account.credit_code, account.username) == (Role.ENTERPRISE, code, code)
    assert account.legal_representative == "测试法人"
    assert (account.is_verified, account.verification_source) == (True, "sso")


def test_a_verified_enterprise_is_linked_an_unverified_one_is_not(client, platform):
    verified = UserFactory(enterprise=True)
    platform.user = {"sub": "e-1", "name": "x", "credit_code": verified.credit_code}
    round_trip(client, platform)
    assert logged_in(client) == verified

    client.post("/accounts/logout/")
    unverified = UserFactory(enterprise=True, unverified=True)
    platform.user = {"sub": "e-2", "name": "x", "credit_code": unverified.credit_code}
    assert refused(round_trip(client, platform), client, "unverified_holder")
    unverified.refresh_from_db()
    assert unverified.sso_subject is None


# -- staff ---------------------------------------------------------------------------------------


def test_staff_claims_never_create_staff_or_raise_a_role(client, platform):
    platform.user = person(
        role="administrator", is_staff=True, is_superuser=True, groups=["administrator"]
    )
    round_trip(client, platform)
    account = logged_in(client)
    assert account is not None
    assert account.role == Role.CITIZEN
    assert not (account.is_staff or account.is_superuser or account.is_bureau_staff)
    assert not account.groups.exists()


def test_a_staff_members_id_number_does_not_link_their_staff_account(client, platform):
    clerk = UserFactory(clerk=True, resident_id=generated_resident_id())
    clerk.set_resident_id(clerk.resident_id)
    clerk.save()
    platform.user = person(id_number=clerk.resident_id)
    assert refused(round_trip(client, platform), client, "not_an_applicant")
    clerk.refresh_from_db()
    assert clerk.sso_subject is None


def test_a_staff_user_name_in_the_claims_links_nothing(client, platform):
    clerk = UserFactory(clerk=True)
    platform.user = person(preferred_username=clerk.username)
    round_trip(client, platform)
    assert logged_in(client) != clerk
    assert logged_in(client).role == Role.CITIZEN


def test_a_staff_member_logs_in_by_the_subject_an_administrator_set(client, platform):
    clerk = UserFactory(clerk=True, sso_subject="staff-0001")
    platform.user = {"sub": "staff-0001", "name": "测试员工", "role": "administrator"}
    round_trip(client, platform)
    assert logged_in(client) == clerk
    clerk.refresh_from_db()
    assert clerk.role == Role.CLERK


# -- what the client refuses ----------------------------------------------------------------------


def test_a_tampered_state_is_refused(client, platform):
    platform.user = person()
    assert refused(round_trip(client, platform, tamper_state=True), client, "MismatchingState")
    assert not User.objects.filter(sso_subject=platform.user["sub"]).exists()


def test_an_id_token_signed_by_another_key_is_refused(client, platform):
    platform.user = person()
    platform.signing_key = platform.rogue_key()
    assert refused(round_trip(client, platform), client, "BadSignature")
    assert not User.objects.filter(sso_subject=platform.user["sub"]).exists()


def test_an_id_token_with_another_nonce_is_refused(client, platform):
    platform.user = person()
    platform.nonce = "not-the-nonce-the-portal-sent"
    assert refused(round_trip(client, platform), client, "nonce")
    assert not User.objects.filter(sso_subject=platform.user["sub"]).exists()


def test_a_wrong_client_secret_gets_no_tokens(client, platform, settings):
    settings.KUAIBAN_OIDC_CLIENT_SECRET = "not-the-secret"
    platform.user = person()
    assert refused(round_trip(client, platform), client, "invalid_client")


def test_an_invalid_id_number_claim_is_refused(client, platform):
    number = generated_resident_id()
    platform.user = person(id_number=number[:17] + ("0" if number[17] != "0" else "1"))
    assert refused(round_trip(client, platform), client, "invalid_id_number")


def test_an_unreachable_platform_sends_back_to_the_login_page(client, settings):
    settings.KUAIBAN_OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing answers
    settings.KUAIBAN_OIDC_CLIENT_ID = CLIENT_ID
    response = client.get("/accounts/sso/login/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.SSO_REFUSED, detail__startswith="unavailable"
    ).exists()


# -- off when not configured ---------------------------------------------------------------------


def test_without_an_issuer_there_is_no_sso_button_and_no_sso_pages(client, settings):
    settings.KUAIBAN_OIDC_ISSUER = ""
    assert not sso.enabled()
    assert 'data-testid="sso-login"' not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/sso/login/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404


# -- the rule, as a service ------------------------------------------------------------------------


def test_rule_claims_without_a_subject_or_an_identity_give_no_account():
    with pytest.raises(sso.Refused):
        sso.sso_account(claims={"name": "测试", "id_number": generated_resident_id()})
    with pytest.raises(sso.Refused):
        sso.sso_account(claims={"sub": "s-1", "name": "测试"})


def test_rule_an_account_linked_to_another_subject_is_not_moved():
    existing = UserFactory(citizen=True, sso_subject="first")
    with pytest.raises(sso.Refused):
        sso.sso_account(claims={"sub": "second", "name": "x", "id_number": existing.resident_id})
    existing.refresh_from_db()
    assert existing.sso_subject == "first"
