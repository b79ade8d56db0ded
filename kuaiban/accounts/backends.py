"""Applicants log in with the number they know: their ID number or their credit code."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from .crypto import keyed_hash
from .identity import normalize_credit_code, normalize_resident_id


class IdentityNumberBackend(ModelBackend):
    """A valid resident ID number finds the user by its keyed hash (any case of the final X), a
    valid unified social credit code by the code; anything else is an ordinary username."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        candidates = self._find(user_model, username)
        if not candidates:
            # Hash anyway, so an unknown number takes as long as a wrong password (as ModelBackend).
            user_model().set_password(password)
            return None
        for user in candidates:
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None

    @staticmethod
    def _find(user_model, typed: str) -> list:
        """The accounts the typed name may be: for an ID number or a credit code, the account
        holding it and any unverified registrations of it (each with its own password)."""
        # An 18-digit string can pass both checks; an ID number is tried first.
        manager = user_model._default_manager
        try:
            number = normalize_resident_id(typed)
        except ValidationError:
            pass
        else:
            digest = keyed_hash(number)
            users = list(manager.filter(resident_id_hash=digest)) + list(
                manager.filter(pending_id_hash=digest, is_active=True).order_by("pk")[:10]
            )
            if users:
                return users
        try:
            code = normalize_credit_code(typed)
        except ValidationError:
            pass
        else:
            users = list(manager.filter(credit_code=code)) + list(
                manager.filter(pending_credit_code=code, is_active=True).order_by("pk")[:10]
            )
            if users:
                return users
        try:
            return [manager.get_by_natural_key(typed)]
        except user_model.DoesNotExist:
            return []


def accounts_named(typed: str) -> list:
    """The accounts a login name may be (an ID number, a credit code or a username), as the
    log-in finds them: for an ID number, the account holding it first, then unverified
    registrations of it."""
    return IdentityNumberBackend._find(get_user_model(), typed)
