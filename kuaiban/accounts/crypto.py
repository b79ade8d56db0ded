"""Personal data at rest: encrypted model fields and keyed hashes for look-ups.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under KUAIBAN_DATA_KEY; equality
look-ups use an HMAC-SHA256 "blind index" under a separate KUAIBAN_LOOKUP_KEY, so the database
never holds a number in clear and the index alone cannot be reversed by enumerating IDs without
the key. In the demo both keys derive from the (demo) secret key; production must set them.

Uploaded documents are encrypted in a streaming format (AES-256-GCM in 64 KiB chunks, the
"STREAM" construction: a random 7-byte nonce prefix per file, a chunk counter and a last-chunk
flag in each nonce, so chunks cannot be reordered, dropped or the file cut short unnoticed). The
file key is derived from each KUAIBAN_DATA_KEY with HKDF-SHA256 under its own label: one secret
to provision and rotate (the first data key encrypts, every listed one decrypts), yet the two
uses never share a key. A file is at most one chunk in memory while it is sealed or opened.
"""

import base64
import hashlib
import hmac
import io
import json
import os
from collections.abc import Iterable, Iterator
from functools import cache
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"kuaiban:{purpose}:{settings.SECRET_KEY}".encode()).digest()


def _data_keys() -> list[str]:
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    configured = [k.strip() for k in settings.KUAIBAN_DATA_KEYS if k.strip()]
    return configured or [base64.urlsafe_b64encode(_derived("data")).decode()]


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in _data_keys()])
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


def phone_lookup_hash(phone: str) -> str:
    """The look-up hash of a normalised mobile number ("" for none): finds the accounts holding
    a number (a password reset by mobile number) without decrypting every row."""
    return keyed_hash(f"phone:{phone}") if phone else ""


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


# -- uploaded documents ------------------------------------------------------------------------

SEALED_MAGIC = b"KBF1"
SEALED_CHUNK = 64 * 1024
_TAG = 16
_PREFIX = 7
_HEADER = len(SEALED_MAGIC) + 4 + _PREFIX


@cache
def _file_keys() -> list[tuple[bytes, bytes]]:
    """(key id, AES-256 key) for each data key, the encrypting one first."""
    _fernet()  # the same validation and message for a malformed KUAIBAN_DATA_KEY
    keys = []
    for data_key in _data_keys():
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"kuaiban:uploads:v1"
        ).derive(base64.urlsafe_b64decode(data_key))
        keys.append((hashlib.sha256(b"kuaiban:file-key-id:" + key).digest()[:4], key))
    return keys


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def is_sealed(head: bytes) -> bool:
    return head.startswith(SEALED_MAGIC)


def sealed_key_id(head: bytes) -> bytes:
    return head[len(SEALED_MAGIC) : len(SEALED_MAGIC) + 4]


def current_file_key_id() -> bytes:
    return _file_keys()[0][0]


def seal_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The encrypted form of a document given as chunks of any size, chunk by chunk."""
    key_id, key = _file_keys()[0]
    prefix = os.urandom(_PREFIX)
    header = SEALED_MAGIC + key_id + prefix
    aead = AESGCM(key)
    yield header
    counter = 0
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > SEALED_CHUNK:  # the remainder, however short, is the last chunk
            piece, buffer = buffer[:SEALED_CHUNK], buffer[SEALED_CHUNK:]
            yield aead.encrypt(_nonce(prefix, counter, False), piece, header)
            counter += 1
    yield aead.encrypt(_nonce(prefix, counter, True), buffer, header)


class SealedReader(io.RawIOBase):
    """Reads the clear text of a sealed document from its encrypted file, a chunk at a time;
    raises ValueError when the file was altered, cut short or sealed under an unknown key."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        header = raw.read(_HEADER)
        if len(header) != _HEADER or not is_sealed(header):
            raise ValueError("not a sealed document")
        keys = dict(_file_keys())
        key = keys.get(sealed_key_id(header))
        if key is None:
            raise ValueError("the document was sealed under a key that is not configured")
        self._aead = AESGCM(key)
        self._header = header
        self._prefix = header[-_PREFIX:]
        self._counter = 0
        self._next = raw.read(SEALED_CHUNK + _TAG)
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _decrypt_next(self) -> None:
        current, self._next = self._next, self._raw.read(SEALED_CHUNK + _TAG)
        last = not self._next
        try:
            self._plain = self._aead.decrypt(
                _nonce(self._prefix, self._counter, last), current, self._header
            )
        except InvalidTag as error:
            raise ValueError("the sealed document was altered or cut short") from error
        self._counter += 1
        self._done = last

    def readinto(self, buffer) -> int:
        while not self._plain and not self._done:
            self._decrypt_next()
        size = min(len(buffer), len(self._plain))
        buffer[:size] = self._plain[:size]
        self._plain = self._plain[size:]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()
