"""Who may open a page: one decorator per kind of user. A page someone may not open does not
exist for them (404, never 403), so staff screens and others' records never reveal themselves.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from . import second_factor, security_log
from .models import Role


def user_passes(test: Callable) -> Callable:
    """Log in first; then 404 unless `test(user)`."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not test(request.user):
                security_log.permission_refused(request)
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def role_required(*roles: str) -> Callable:
    return user_passes(lambda user: user.role in roles)


applicant_required = user_passes(lambda user: user.is_applicant)
clerk_required = role_required(Role.CLERK)
reviewer_required = role_required(Role.REVIEWER)
extension_decider_required = user_passes(lambda user: user.decides_extensions)
supervisor_required = role_required(Role.SUPERVISOR, Role.ADMINISTRATOR)
# The administrators' own pages (the working-day calendar, the integrations' status).
administrator_required = role_required(Role.ADMINISTRATOR)
# The two-factor pages: accounts that need a second factor (bureau staff, admin users).
second_factor_account_required = user_passes(second_factor.required)
supervision_office_required = user_passes(lambda user: user.is_supervision_office)
# Service guides under legal review: the legal-review unit's reviewers decide; administrators
# propose and submit; both see the queue and the versions.
guide_reviewer_required = user_passes(lambda user: user.reviews_guides)
guide_proposer_required = user_passes(lambda user: user.proposes_guides)
guide_staff_required = user_passes(lambda user: user.reviews_guides or user.proposes_guides)
