from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from . import services
from .forms import CitizenRegistrationForm, EnterpriseRegistrationForm
from .models import Role

BACKEND = "kuaiban.accounts.backends.IdentityNumberBackend"
SENSITIVE = ("resident_id", "phone", "password", "password_confirm")


def register(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    return render(request, "accounts/register.html")


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
        ),
    )


@never_cache
@login_required
def profile(request):
    return render(
        request,
        "accounts/profile.html",
        {"account": request.user, "is_enterprise": request.user.role == Role.ENTERPRISE},
    )


def _register(request, form_class, template, register_with):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_with(form.cleaned_data)
        except ValidationError as error:
            _attach(form, error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, _("Your account is registered and you are logged in."))
            return redirect("accounts:profile")
    return render(request, template, {"form": form})


def _attach(form, error: ValidationError) -> None:
    """Put a service's errors next to the fields they concern."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)
