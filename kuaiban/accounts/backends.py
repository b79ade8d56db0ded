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
        user = self._find(user_model, username)
        if user is None:
            # Hash anyway, so an unknown number takes as long as a wrong password (as ModelBackend).
            user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    @staticmethod
    def _find(user_model, typed: str):
        # An 18-digit string can pass both checks; an ID number is tried first.
        try:
            number = normalize_resident_id(typed)
        except ValidationError:
            pass
        else:
            user = user_model._default_manager.filter(resident_id_hash=keyed_hash(number)).first()
            if user is not None:
                return user
        try:
            code = normalize_credit_code(typed)
        except ValidationError:
            pass
        else:
            user = user_model._default_manager.filter(credit_code=code).first()
            if user is not None:
                return user
        try:
            return user_model._default_manager.get_by_natural_key(typed)
        except user_model.DoesNotExist:
            return None
