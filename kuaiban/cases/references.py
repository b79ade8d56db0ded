"""Application reference numbers: `KB` + the local date + 6 characters. The characters avoid
letters that read like digits (I, L, O, U), so a number read out over the phone is unambiguous."""

import secrets
from datetime import datetime

from django.utils import timezone

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SUFFIX_LENGTH = 6


def random_suffix() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(SUFFIX_LENGTH))


def reference_number(moment: datetime, suffix: str | None = None) -> str:
    """The reference of an application created at `moment` (a random suffix unless given)."""
    return f"KB{timezone.localtime(moment):%Y%m%d}{suffix or random_suffix()}"
