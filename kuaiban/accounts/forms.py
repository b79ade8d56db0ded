"""Registration and password forms. They only parse what was typed; the services in services.py
register and set passwords."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from .identity import normalize_credit_code, normalize_phone, normalize_resident_id


def _text(label, *, autocomplete, max_length=100, help_text="", **attrs):
    return forms.CharField(
        label=label,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete, **attrs}),
    )


def _password(label, *, help_text=""):
    return forms.CharField(
        label=label,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class _RegistrationForm(forms.Form):
    """Mobile number, optional e-mail and the password twice, common to both forms."""

    phone = _text(
        _("Mobile number"),
        autocomplete="tel",
        max_length=20,
        type="tel",
        inputmode="tel",
        help_text=_("Used for progress notices by SMS."),
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = _password(
        _("Password"), help_text=_("At least 8 characters, not only digits, not a common password.")
    )
    password_confirm = _password(_("Password again"))

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        password = cleaned.get("password")
        confirm = cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error(
                "password_confirm",
                forms.ValidationError(_("The two passwords differ."), code="password_mismatch"),
            )
        return cleaned


class CitizenRegistrationForm(_RegistrationForm):
    field_order = [
        "real_name",
        "resident_id",
        "phone",
        "email",
        "password",
        "password_confirm",
        "agree",
    ]

    real_name = _text(_("Real name"), autocomplete="name")
    resident_id = _text(
        _("Resident ID number"),
        autocomplete="off",
        max_length=30,  # the identity check says what is wrong with a number of the wrong length
        help_text=_("18 characters; you will log in with this number."),
        autocapitalize="characters",
        spellcheck="false",
    )
    agree = forms.BooleanField(
        label=_("I have read and agree to the personal-information notice."),
        error_messages={"required": _("Please read and agree to the personal-information notice.")},
    )

    def clean_resident_id(self):
        return normalize_resident_id(self.cleaned_data["resident_id"])


class EnterpriseRegistrationForm(_RegistrationForm):
    field_order = [
        "organisation_name",
        "credit_code",
        "legal_representative",
        "contact_name",
        "phone",
        "email",
        "password",
        "password_confirm",
    ]

    organisation_name = _text(
        _("Name of the enterprise or institution"), autocomplete="organization"
    )
    credit_code = _text(
        _("Unified social credit code"),
        autocomplete="off",
        max_length=30,
        help_text=_("18 characters, as on the business licence; you will log in with this code."),
        autocapitalize="characters",
        spellcheck="false",
    )
    contact_name = _text(_("Contact person"), autocomplete="name")
    legal_representative = _text(
        _("Legal representative"),
        autocomplete="off",
        help_text=_("As on the business licence; checked against the market-registration record."),
    )

    def clean_credit_code(self):
        return normalize_credit_code(self.cleaned_data["credit_code"])


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}"}
        ),
    )


class PasswordResetRequestForm(forms.Form):
    identifier = _text(
        _("ID number, credit code, user name or mobile number"),
        autocomplete="username",
        max_length=150,
        spellcheck="false",
    )


class PasswordResetCodeForm(SetPasswordForm):
    """The code from the SMS and the new password twice. The passwords are checked here without
    the account (the page must not depend on whether there is one); the service checks them again
    against the account's own details once the code is accepted. Without `code_needed` (the code
    was accepted a moment ago) only the passwords are asked."""

    code = PhoneCodeForm.base_fields["code"]
    field_order = ["code", "new_password1", "new_password2"]

    def __init__(self, *args, code_needed: bool = True, **kwargs):
        super().__init__(None, *args, **kwargs)
        if not code_needed:
            del self.fields["code"]


class AuthenticatorCodeForm(forms.Form):
    """The 6-digit code of the staff member's authenticator app (spaces ignored)."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code
