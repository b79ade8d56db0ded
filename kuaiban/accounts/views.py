import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from . import otp, second_factor, security_log, services, sso, throttle
from .decorators import second_factor_account_required
from .forms import (
    AuthenticatorCodeForm,
    CitizenRegistrationForm,
    EnterpriseRegistrationForm,
    PasswordResetCodeForm,
    PasswordResetRequestForm,
    PhoneCodeForm,
)
from .identity_sources import Verdict
from .models import Role, User

BACKEND = "kuaiban.accounts.backends.IdentityNumberBackend"
SENSITIVE = ("resident_id", "phone", "password", "password_confirm")


def locked_out(request, original_response=None, credentials=None):
    """The page of a locked-out log-in (axes' AXES_LOCKOUT_CALLABLE): the same for every name,
    an account's or not, and whatever the password (the right one too)."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cool_off.total_seconds() / 60))
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


# Where a registration goes once the identity is verified: the page the person set off from
# (在线申请 → 注册 → back to the application), kept in the session across the SMS step.
AFTER_REGISTRATION = "kuaiban_after_registration"


def _remember_next(request) -> str:
    """Keep a safe `next` of this request for after the registration; the one kept."""
    candidate = request.GET.get("next") or request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[AFTER_REGISTRATION] = candidate
    return request.session.get(AFTER_REGISTRATION, "")


def register(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    return render(request, "accounts/register.html", {"next": _remember_next(request)})


@sensitive_post_parameters(*SENSITIVE)
def register_citizen(request):
    return _register(
        request,
        CitizenRegistrationForm,
        "accounts/register_citizen.html",
        lambda data: services.citizen_register(
            real_name=data["real_name"],
            resident_id=data["resident_id"],
            phone=data["phone"],
            password=data["password"],
            email=data["email"],
        ),
    )


@sensitive_post_parameters(*SENSITIVE)
def register_enterprise(request):
    return _register(
        request,
        EnterpriseRegistrationForm,
        "accounts/register_enterprise.html",
        lambda data: services.enterprise_register(
            organisation_name=data["organisation_name"],
            credit_code=data["credit_code"],
            contact_name=data["contact_name"],
            phone=data["phone"],
            password=data["password"],
            email=data["email"],
            legal_representative=data["legal_representative"],
        ),
    )


REGISTRANT = "registration_user"


def _registrant(request):
    """Who is confirming a phone: the logged-in applicant, or the registration in this session."""
    if request.user.is_authenticated:
        unconfirmed = request.user.is_applicant and request.user.phone_verified_at is None
        return request.user if unconfirmed else None
    pk = request.session.get(REGISTRANT)
    return User.objects.filter(pk=pk, is_active=True, phone_verified_at__isnull=True).first()


@never_cache
@sensitive_post_parameters("code")
def register_confirm(request):
    """Step 2: the code sent to the phone; then the real-name check."""
    user = _registrant(request)
    if user is None:
        return redirect(
            "accounts:profile" if request.user.is_authenticated else "accounts:register"
        )
    form = PhoneCodeForm(request.POST or None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            services.phone_code_send(user=user, ip=client_ip(request))
        except otp.Throttled as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("A new code has been sent."))
        return redirect("accounts:register_confirm")
    if request.method == "POST" and form.is_valid():
        result = services.phone_confirm(user=user, code=form.cleaned_data["code"])
        if result != otp.Check.ACCEPTED:
            form.add_error("code", result.message)
        else:
            request.session.pop(REGISTRANT, None)
            return _after_verification(request, services.identity_verify(user=user))
    return render(
        request, "accounts/register_confirm.html", {"form": form, "masked_phone": user.masked_phone}
    )


@require_POST
@login_required
def verify_again(request):
    """Retry the real-name check from the profile page (after the source was unavailable)."""
    if not request.user.is_applicant or request.user.is_verified:
        return redirect("accounts:profile")
    if request.user.phone_verified_at is None:
        return redirect("accounts:register_confirm")
    return _after_verification(request, services.identity_verify(user=request.user))


def _after_verification(request, verification):
    account = verification.account
    if request.user.pk != account.pk:
        login(request, account, backend=BACKEND)
    if verification.taken and account.role == Role.ENTERPRISE:
        messages.error(
            request,
            _(
                "An account for this credit code already exists. Log in with it, or ask at a "
                "service window if you cannot."
            ),
        )
    elif verification.taken:
        messages.error(
            request,
            _(
                "An account for this ID number already exists. Log in with it, or ask at a "
                "service window if you cannot."
            ),
        )
    elif verification.verdict == Verdict.VERIFIED:
        messages.success(request, _("Your identity is verified. You can now submit applications."))
        if request.session.get(AFTER_REGISTRATION):
            return redirect(request.session.pop(AFTER_REGISTRATION))
    elif verification.verdict == Verdict.MISMATCH:
        messages.error(
            request,
            _(
                "The details you gave do not match the official register, so your account is "
                "not verified. Check them, or bring your ID to a service window."
            ),
        )
    else:
        messages.warning(
            request,
            _(
                "The identity check is not available at the moment. Your account is not verified "
                "yet: please try again later from this page."
            ),
        )
    return redirect("accounts:profile")


@never_cache
@login_required
def profile(request):
    return render(
        request,
        "accounts/profile.html",
        {"account": request.user, "is_enterprise": request.user.role == Role.ENTERPRISE},
    )


@never_cache
@sensitive_post_parameters("code")
@second_factor_account_required
def two_factor(request):
    """A staff log-in's second step: the code of the authenticator app set up before."""
    next_url = _next_url(request)
    if second_factor.verified(request.user):
        return redirect(next_url)
    device = second_factor.confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('accounts:two_factor_setup')}?{urlencode({'next': next_url})}")
    return _second_factor_code(request, device, "accounts/two_factor.html", next_url, {})


@never_cache
@sensitive_post_parameters("code")
@second_factor_account_required
def two_factor_setup(request):
    """The first staff log-in: set up an authenticator app with this key, confirm with a code."""
    next_url = _next_url(request)
    if second_factor.verified(request.user) or second_factor.confirmed_device(request.user):
        return redirect(f"{reverse('accounts:two_factor')}?{urlencode({'next': next_url})}")
    if not second_factor.may_enrol(request.user):
        security_log.record(
            security_log.Kind.SECOND_FACTOR_FAILED,
            request,
            user=request.user,
            detail="enrolment window closed",
        )
        return render(request, "accounts/two_factor_closed.html", status=403)
    device = second_factor.enrolment_device(request.user)
    context = {
        "secret": second_factor.secret(device),
        "otpauth_uri": second_factor.otpauth_uri(device),
    }
    return _second_factor_code(request, device, "accounts/two_factor_setup.html", next_url, context)


def _second_factor_code(request, device, template, next_url, context):
    form = AuthenticatorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enrolling = not device.confirmed
        result = second_factor.check(request, device, form.cleaned_data["code"])
        if result == second_factor.Check.ACCEPTED:
            if enrolling:
                messages.success(request, _("Your authenticator app is set up."))
            return redirect(next_url)
        if result == second_factor.Check.LOGGED_OUT:
            messages.error(
                request, _("Too many wrong codes: you have been logged out. Please log in again.")
            )
            return redirect_to_login(next_url)
        if result == second_factor.Check.WAIT:
            seconds = max(1, second_factor.wait_seconds(device))
            form.add_error(
                "code",
                ngettext(
                    "Too many wrong codes: wait %(seconds)d second, then enter the new code.",
                    "Too many wrong codes: wait %(seconds)d seconds, then enter the new code.",
                    seconds,
                )
                % {"seconds": seconds},
            )
        else:
            form.add_error(
                "code",
                _(
                    "This code is not right. Enter the code your app shows now; check that the "
                    "phone's clock is right."
                ),
            )
    return render(request, template, {**context, "form": form, "next": next_url})


def _next_url(request) -> str:
    """Where to go once verified: the page asked for, if it is on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _register(request, form_class, template, register_with):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    _remember_next(request)
    form = form_class(request.POST or None)
    if request.method == "POST" and not throttle.registration_allowed(request):
        security_log.record(security_log.Kind.REGISTRATION_THROTTLED, request)
        form.is_valid()
        form.add_error(
            None,
            _("Too many registration attempts from your network. Please try again in an hour."),
        )
        return render(request, template, {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_with(form.cleaned_data)
        except ValidationError as error:
            _attach(form, error)
        else:
            request.session[REGISTRANT] = user.pk
            try:
                services.phone_code_send(user=user, ip=client_ip(request))
            except otp.Throttled as error:
                messages.error(request, error.messages[0])
            else:
                messages.success(
                    request, _("We have sent a 6-digit code by SMS to the mobile number you gave.")
                )
            return redirect("accounts:register_confirm")
    return render(request, template, {"form": form})


def _attach(form, error: ValidationError) -> None:
    """Put a service's errors next to the fields they concern."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


# -- passwords ---------------------------------------------------------------------------------

PASSWORDS = ("old_password", "new_password1", "new_password2")


@never_cache
@sensitive_post_parameters(*PASSWORDS)
@login_required
def password_change(request):
    """Any logged-in user: the old password, the new one twice. The session stays."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change(
            user=request.user, password=form.cleaned_data["new_password1"], request=request
        )
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Your password has been changed."))
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


# The reset in progress in this session: {"user": pk or None, "since": epoch seconds, "tries": n,
# "verified": epoch seconds or None}. "user" is None when nothing matched (or a staff account):
# the code page then answers as it does for a real account's wrong codes, and accepts none.
RESET = "password_reset"


@never_cache
@sensitive_post_parameters("identifier")
def password_reset(request):
    """Step 1 (applicants who forgot their password): who they are. Whatever was typed, the answer
    is the code page saying that if an account matches, a code was sent."""
    if request.user.is_authenticated:
        return redirect("accounts:password_change")
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and not throttle.password_reset_allowed(request):
        security_log.record(security_log.Kind.PASSWORD_RESET_THROTTLED, request)
        form.is_valid()
        form.add_error(
            None,
            _("Too many password-reset requests from your network. Please try again in an hour."),
        )
        return render(request, "accounts/password_reset.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        user = services.password_reset_send(
            identifier=form.cleaned_data["identifier"], ip=client_ip(request)
        )
        request.session[RESET] = {
            "user": user.pk if user is not None else None,
            "since": time.time(),
            "tries": 0,
            "verified": None,
        }
        return redirect("accounts:password_reset_confirm")
    return render(request, "accounts/password_reset.html", {"form": form})


@never_cache
@sensitive_post_parameters("code", "new_password1", "new_password2")
def password_reset_confirm(request):
    """Step 2: the code from the SMS and the new password twice."""
    if request.user.is_authenticated:
        return redirect("accounts:password_change")
    state = request.session.get(RESET)
    if state is None:
        return redirect("accounts:password_reset")
    user = User.objects.filter(pk=state["user"]).first() if state["user"] else None
    if user is not None and not services.may_reset_by_sms(user):
        user = None
    verified = (
        user is not None
        and state["verified"] is not None
        and time.time() - state["verified"] < otp.CODE_TTL.total_seconds()
    )
    form = PasswordResetCodeForm(request.POST or None, code_needed=not verified)
    if request.method == "POST" and form.is_valid():
        if not verified:
            code = form.cleaned_data["code"]
            if user is not None and services.password_reset_check(user=user, code=code) == (
                otp.Check.ACCEPTED
            ):
                state["verified"] = time.time()
                verified = True
            else:
                form.add_error("code", _refusal(state).message)
            request.session[RESET] = state
        if verified and user is not None:
            try:
                services.password_reset(
                    user=user, password=form.cleaned_data["new_password1"], request=request
                )
            except ValidationError as error:
                # Too like the account's own details: the code stays accepted for a moment.
                request.session[RESET] = state
                form = PasswordResetCodeForm(request.POST, code_needed=False)
                form.is_valid()
                form.add_error("new_password2", error.messages)
            else:
                request.session.pop(RESET, None)
                messages.success(
                    request, _("Your password has been reset. Log in with the new password.")
                )
                return redirect("login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


def _refusal(state: dict) -> otp.Check:
    """Why a code is refused, told from this session's request alone (its age, the tries made
    since), never from the account's code: wrong, then exhausted after as many tries as a code
    allows, expired once a code would have, whether or not an account matched (or its code was
    throttled, or already exhausted elsewhere). Only the right code tells anything."""
    if time.time() - state["since"] >= otp.CODE_TTL.total_seconds():
        return otp.Check.EXPIRED
    if state["tries"] >= otp.MAX_TRIES:
        return otp.Check.EXHAUSTED
    state["tries"] += 1
    return otp.Check.EXHAUSTED if state["tries"] >= otp.MAX_TRIES else otp.Check.WRONG


# -- single sign-on through the provincial identity platform --------------------------------------


@never_cache
@require_GET
def sso_login(request):
    """To the platform's log-in page (the login page's button); back at `sso_callback`."""
    if not sso.enabled():
        raise Http404
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    try:
        return sso.start(
            request,
            redirect_uri=request.build_absolute_uri(reverse("accounts:sso_callback")),
            next_url=next_url,
        )
    except sso.Refused as refused:
        return _sso_refused(request, refused)


@never_cache
@require_GET
def sso_callback(request):
    if not sso.enabled():
        raise Http404
    try:
        outcome = sso.complete(request)
    except sso.Refused as refused:
        return _sso_refused(request, refused)
    if outcome.linked:
        security_log.record(security_log.Kind.SSO_LINKED, request, user=outcome.account)
    next_url = sso.next_url(request)
    login(request, outcome.account, backend=BACKEND)
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


def _sso_refused(request, refused: sso.Refused):
    security_log.record(security_log.Kind.SSO_REFUSED, request, detail=refused.reason)
    messages.error(
        request,
        _(
            "Logging in through the provincial identity platform did not succeed. Log in with "
            "your portal account, or ask at a service window."
        ),
    )
    return redirect("login")
