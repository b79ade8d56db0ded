"""Chinese identity numbers: validation, normalisation, masking. Pure, no Django models.

- Resident ID (GB 11643-1999): 6 digits of region (an administrative division code of
  GB/T 2260, current or former: a number keeps the code it was issued under), the birth date
  (not in the future, not before 1900), 3 digits of sequence, and a check character over weights
  2^(17-i) mod 11.
- Unified social credit code (GB 32100-2015): 18 characters; the check character is computed
  over the first 17 with weights 3^(i-1) mod 31.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb

EARLIEST_BIRTH = date(1900, 1, 1)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_SHAPE = re.compile(rf"^[{CREDIT_ALPHABET}]{{18}}$")

_PHONE_SHAPE = re.compile(r"^1[3-9]\d{9}$")


def resident_id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_division_code(code: str) -> bool:
    """Whether a six-digit code names a county-level division in GB/T 2260, now or in the past
    (the table python-stdnum ships; a prefix that only names a province does not count)."""
    found = {key for _part, props in numdb.get("cn/loc").info(code) for key in props}
    return "county" in found


def normalize_resident_id(value: str, *, today: date | None = None) -> str:
    """The number in its stored form (upper-case X), or a ValidationError saying what is wrong."""
    number = (value or "").strip().upper()
    if not _ID_SHAPE.match(number):
        raise ValidationError(
            _("A resident ID number has 18 characters: 17 digits and a final digit or X."),
            code="id_format",
        )
    shown = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID number (%(date)s) does not exist."),
            code="id_birth_date",
            params={"date": shown},
        ) from None
    if not EARLIEST_BIRTH <= born <= (today or timezone.localdate()):
        raise ValidationError(
            _("The birth date in this ID number (%(date)s) is in the future or before 1900."),
            code="id_birth_date_range",
            params={"date": shown},
        )
    if not is_division_code(number[:6]):
        raise ValidationError(
            _("The first six digits of this ID number (%(code)s) are not a region code."),
            code="id_region",
            params={"code": number[:6]},
        )
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit of this ID number is wrong; please check the number."),
            code="id_check_digit",
        )
    return number


def birth_date_of(resident_id: str) -> date:
    return date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))


def birth_monthday_of(resident_id: str) -> int | None:
    """The month and day of birth as one number (229 for 29 February), None without a valid
    18-character number."""
    if len(resident_id or "") != 18:
        return None
    try:
        born = birth_date_of(resident_id)
    except ValueError:
        return None
    return born.month * 100 + born.day


def sex_of(resident_id: str) -> str:
    """ "male" or "female": the 17th digit is odd for men (GB 11643)."""
    return "male" if int(resident_id[16]) % 2 else "female"


def age_on(born: date, day: date) -> int:
    """Full years of age on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    code = (value or "").strip().upper()
    if not _CREDIT_SHAPE.match(code):
        raise ValidationError(
            _(
                "A unified social credit code has 18 characters: digits and capital letters "
                "except I, O, Z, S and V."
            ),
            code="credit_format",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this credit code is wrong; please check the code."),
            code="credit_check",
        )
    return code


def normalize_phone(value: str) -> str:
    phone = re.sub(r"[\s-]", "", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE_SHAPE.match(phone):
        raise ValidationError(_("Enter an 11-digit mobile number."), code="phone_format")
    return phone


def mask_resident_id(number: str) -> str:
    """First 6 and last 4 shown: 321002********3011."""
    if not number:
        return ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """138****5678."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:]


def mask_account(number: str) -> str:
    """Bank and other account numbers: only the last 4 shown."""
    if not number:
        return ""
    return "*" * max(len(number) - 4, 4) + number[-4:]


def mask_name(name: str) -> str:
    """A person's or an organisation's name for a public page: 张*, 李*明, 南通**公司 (the first
    and last characters kept, the first two and last two of a longer name)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]
