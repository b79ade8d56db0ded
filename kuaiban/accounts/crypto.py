"""Personal data at rest: encrypted model fields and keyed hashes for look-ups.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under KUAIBAN_DATA_KEY; equality
look-ups use an HMAC-SHA256 "blind index" under a separate KUAIBAN_LOOKUP_KEY, so the database
never holds a number in clear and the index alone cannot be reversed by enumerating IDs without
the key. In the demo both keys derive from the (demo) secret key; production must set them.
"""

import base64
import hashlib
import hmac
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"kuaiban:{purpose}:{settings.SECRET_KEY}".encode()).digest()


@cache
def _fernet() -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    configured = [k.strip() for k in settings.KUAIBAN_DATA_KEYS if k.strip()]
    keys = configured or [base64.urlsafe_b64encode(_derived("data")).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"KUAIBAN_DATA_KEY is not a Fernet key: {error}") from error


@cache
def _lookup_key() -> bytes:
    return (
        settings.KUAIBAN_LOOKUP_KEY.encode() if settings.KUAIBAN_LOOKUP_KEY else _derived("lookup")
    )


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("personal data could not be decrypted with the configured keys") from error


def keyed_hash(value: str) -> str:
    """Deterministic HMAC of a normalised value, for unique constraints and look-ups."""
    return hmac.new(_lookup_key(), value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give back the clear text."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON document stored encrypted (form answers that may hold personal numbers)."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict | list):
            return value
        if value in (None, ""):
            return {}
        return json.loads(value)

    def get_prep_value(self, value):
        if value is None:
            value = {}
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)
