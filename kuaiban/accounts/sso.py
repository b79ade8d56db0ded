"""Single sign-on through the provincial identity platform (统一身份认证), over OpenID Connect.

The platform has verified the person or organisation; its ID token (RS256, checked against the
platform's published keys, with the state and nonce of this browser's request) asserts who they
are. ``sso_account`` turns those claims into a portal account, by this rule:

1. An account already linked to the token's subject (``sub``) is the one, whatever it is (staff
   included: an administrator links a staff account by setting its ``sso_subject``).
2. Claims never create or link a staff account, and never set a role: an identity that leads to
   a staff account (by ID number, credit code or user name) is refused.
3. An enterprise (a ``credit_code`` claim) is linked to the verified enterprise account with that
   code, or gets a new verified one.
4. A person (the resident ID number claim, validated as at registration) is linked to the
   verified account holding that number; a window-only record of the number is claimed (it
   becomes their account, with the window applications); otherwise a new verified account is
   made. An unverified registration of the same number is NOT linked (anyone may type someone
   else's number when registering): it stays as it is, unverified, and the person gets their own
   verified account (the registration will find the number taken if it is ever checked).
5. Accounts made or claimed here are verified with ``verification_source`` "sso"; the phone
   claim fills the phone only when the platform says it is verified. They have no usable
   password: the person logs in through the platform (or resets a password by SMS code).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from authlib.common.errors import AuthlibBaseError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc.errors import JoseError
from requests import RequestException

from .crypto import keyed_hash
from .identity import normalize_credit_code, normalize_phone, normalize_resident_id
from .models import Role, User
from .services import _citizen_username, citizen_verified

SOURCE = "sso"


class Refused(Exception):
    """The claims lead to no account this portal may log in. ``reason`` is a short code for the
    security log; the person is told to use their local account or ask at a service window."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    account: User
    linked: bool  # the subject was linked (or the account made) at this log-in


def enabled() -> bool:
    return bool(settings.KUAIBAN_OIDC_ISSUER and settings.KUAIBAN_OIDC_CLIENT_ID)


@cache
def _client(issuer: str, client_id: str, client_secret: str, scope: str, timeout: float):
    from authlib.integrations.django_client import OAuth

    oauth = OAuth()
    return oauth.register(
        name="province",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": scope,
            "code_challenge_method": "S256",  # PKCE, on top of the state
            "default_timeout": timeout,
        },
    )


def client():
    """The Authlib client for the configured platform (one per configuration: the discovery
    document and keys are fetched once, the keys again when the platform rotates them)."""
    return _client(
        settings.KUAIBAN_OIDC_ISSUER,
        settings.KUAIBAN_OIDC_CLIENT_ID,
        settings.KUAIBAN_OIDC_CLIENT_SECRET,
        settings.KUAIBAN_OIDC_SCOPE,
        settings.KUAIBAN_OIDC_TIMEOUT,
    )


# -- claims → account ----------------------------------------------------------------------------


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return " ".join(value.split())[:100] if isinstance(value, str) else ""


def _verified_phone(claims: dict[str, Any]) -> str:
    if claims.get("phone_number_verified") is not True:
        return ""
    try:
        return normalize_phone(_text(claims, "phone_number"))
    except ValidationError:
        return ""


@transaction.atomic
def sso_account(*, claims: dict[str, Any]) -> Outcome:
    """The account for a verified ID token's claims (the rule in the module's docstring), or
    ``Refused``."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise Refused("no_subject")
    linked = User.objects.select_for_update().filter(sso_subject=subject).first()
    if linked is not None:
        if not linked.is_active:
            raise Refused("inactive")
        return Outcome(linked, linked=False)
    if claims.get("credit_code"):
        account = _enterprise(subject, claims)
    elif claims.get(settings.KUAIBAN_OIDC_ID_CLAIM):
        account = _person(subject, claims)
    else:
        raise Refused("no_identity")
    return Outcome(account, linked=True)


def _enterprise(subject: str, claims: dict[str, Any]) -> User:
    try:
        code = normalize_credit_code(str(claims["credit_code"]))
    except ValidationError:
        raise Refused("invalid_credit_code") from None
    holder = (
        User.objects.select_for_update().filter(credit_code=code).first()
        or User.objects.select_for_update().filter(username=code).first()
    )
    if holder is not None:
        if holder.role != Role.ENTERPRISE or not holder.is_active:
            raise Refused("not_an_applicant")
        if not holder.is_verified:
            # A registration nobody has verified may be a squatter's: the platform's enterprise
            # does not inherit it (and the code is unique, so no second account either).
            raise Refused("unverified_holder")
        return _link(holder, subject)
    name = _text(claims, "name")
    representative = _text(claims, "legal_representative")
    if not name or not representative:
        raise Refused("incomplete_claims")
    account = User(
        username=code,
        role=Role.ENTERPRISE,
        real_name=name,
        display_name=name,
        credit_code=code,
        legal_representative=representative,
        contact_name=representative,
    )
    return _create(account, subject, claims)


def _person(subject: str, claims: dict[str, Any]) -> User:
    try:
        number = normalize_resident_id(str(claims[settings.KUAIBAN_OIDC_ID_CLAIM]))
    except ValidationError:
        raise Refused("invalid_id_number") from None
    name = _text(claims, "name")
    if not name:
        raise Refused("incomplete_claims")
    digest = keyed_hash(number)
    holder = User.objects.select_for_update().filter(resident_id_hash=digest).first()
    if holder is None:
        account = User(
            username=_citizen_username(digest),
            role=Role.CITIZEN,
            real_name=name,
            display_name=name,
        )
        account.set_resident_id(number)
        return _create(account, subject, claims)
    if holder.role != Role.CITIZEN or not holder.is_active:
        raise Refused("not_an_applicant")
    if holder.window_only:
        # Claimed, as a registration claims it (services.identity_verify): the record becomes
        # the person's account, their window applications with it.
        holder.window_only = False
        holder.real_name = name
        holder.display_name = name
        holder.set_unusable_password()
        _fill_phone(holder, claims)
        return _mark(holder, subject)
    if not holder.is_verified:
        raise Refused("unverified_holder")
    return _link(holder, subject)


def _link(holder: User, subject: str) -> User:
    if holder.sso_subject:
        # Linked to another of the platform's subjects already: not ours to move.
        raise Refused("linked_elsewhere")
    holder.sso_subject = subject
    holder.save(update_fields=["sso_subject"])
    return holder


def _create(account: User, subject: str, claims: dict[str, Any]) -> User:
    account.set_unusable_password()
    _fill_phone(account, claims)
    account.sso_subject = subject
    _verified(account)
    try:
        with transaction.atomic():
            account.save(force_insert=True)
    except IntegrityError:
        # A concurrent first log-in of the same identity won: log in again to be linked.
        raise Refused("concurrent") from None
    _announce(account)
    return account


def _mark(account: User, subject: str) -> User:
    account.sso_subject = subject
    _verified(account)
    account.save()
    _announce(account)
    return account


def _announce(account: User) -> None:
    """A citizen verified by the platform is announced like one verified here (after commit)."""
    if account.role == Role.CITIZEN:
        citizen_verified(account)


def _verified(account: User) -> None:
    account.is_verified = True
    account.verified_at = timezone.now()
    account.verification_source = SOURCE


def _fill_phone(account: User, claims: dict[str, Any]) -> None:
    phone = _verified_phone(claims)
    if phone:
        account.phone = phone
        account.phone_verified_at = timezone.now()


# -- the browser's round trip ---------------------------------------------------------------------

NEXT = "sso_next"


def start(request, *, redirect_uri: str, next_url: str):
    """The redirect to the platform's authorisation page; Authlib keeps the state, the nonce and
    the PKCE verifier in the session."""
    request.session[NEXT] = next_url
    try:
        return client().authorize_redirect(request, redirect_uri)
    except (AuthlibBaseError, JoseError, RequestException, ValueError) as error:
        raise Refused(f"unavailable: {type(error).__name__}: {error}") from error


def complete(request) -> Outcome:
    """Back from the platform: exchange the code for tokens (over HTTPS, with the client's
    secret), verify the ID token (signature against the platform's keys, issuer, audience,
    expiry, nonce), then apply the rule. ``Refused`` on any failure."""
    oidc = client()
    try:
        token = oidc.authorize_access_token(request)
        issuer = oidc.load_server_metadata().get("issuer")
    except (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError) as error:
        raise Refused(f"token: {type(error).__name__}: {error}") from error
    if issuer != settings.KUAIBAN_OIDC_ISSUER:
        raise Refused("issuer_mismatch")
    claims = token.get("userinfo")  # the ID token's verified claims
    if not claims:
        raise Refused("no_id_token")
    return sso_account(claims=dict(claims))


def next_url(request) -> str:
    return request.session.pop(NEXT, "")
