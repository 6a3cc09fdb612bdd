"""The NIK (Nomor Induk Kependudukan): parsing and validation.

A NIK is 16 digits: ``PPKKCC`` the kecamatan of first registration, ``DDMMYY`` the
birth date (40 added to the day for women) and ``SSSS`` a serial from ``0001``.
The region digits never change when a person moves: they are not the *current*
kecamatan.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from .errors import InvalidNIK
from .i18n import N_, _
from .regions import region

_FEMALE_DAY_OFFSET = 40


@dataclass(frozen=True)
class NIK:
    """A parsed, valid NIK."""

    value: str
    #: kecamatan of first registration, dotted (``16.71.05``).
    region_code: str
    birth_date: dt.date
    sex: str  # "F" or "M"
    serial: int

    def __str__(self) -> str:
        return self.value

    def masked(self) -> str:
        """The NIK with the birth date and serial hidden; region digits kept."""
        return mask(self.value)


def lookup_key(text: str) -> str:
    """``text`` as a stored NIK would read, if it is 16 digits; to find a registered card
    without parsing (registration validated it). Else the error ``parse_nik`` gives.

    :raises InvalidNIK: not 16 digits.
    """
    value = text.strip() if isinstance(text, str) else str(text)
    if len(value) == 16 and value.isascii() and value.isdigit():
        return value
    return parse_nik(value).value  # raises, naming the part at fault


def parse_nik(text: str, today: dt.date | None = None) -> NIK:
    """Parse and validate a NIK.

    The two-digit birth year is read in the century that puts the birth date on or
    before ``today`` (default: the current date), so ``05`` is 2005, ``75`` is 1975.

    :raises InvalidNIK: naming the part at fault (length, region, birth date, serial).
    """
    value, region_code, birth_date, sex = nik_parts(text, today)
    return NIK(value=value, region_code=region_code, birth_date=birth_date, sex=sex, serial=int(value[12:16]))


def nik_parts(text: str, today: dt.date | None = None) -> tuple[str, str, dt.date, str]:
    """What ``parse_nik`` checks and reads, without making a NIK (registration checks a
    million): the value, the region code, the birth date and the sex.

    :raises InvalidNIK: as ``parse_nik``.
    """
    value = text.strip() if isinstance(text, str) else str(text)
    if len(value) != 16 or not value.isascii() or not value.isdigit():
        reason = _("expected 16 digits, got {count} characters").format(count=len(value))
        raise InvalidNIK(value, N_("length"), reason)
    region_code = _region_part(value)
    birth_date = _birth_date_part(value, today or dt.date.today())
    if value[12:16] == "0000":
        raise InvalidNIK(value, N_("serial"), _("digits 13-16 must be 0001 or more, got 0000"))
    return value, region_code, birth_date, "F" if int(value[6:8]) > _FEMALE_DAY_OFFSET else "M"


def _region_part(value: str) -> str:
    code = _kecamatan_code(value[:6])
    if code is None:
        reason = _("digits 1-6 ({digits}) are not an official kecamatan code").format(digits=value[:6])
        raise InvalidNIK(value, N_("region"), reason)
    return code


@functools.lru_cache(maxsize=4096)
def _kecamatan_code(digits: str) -> str | None:
    """The dotted code of six NIK digits, if they name an official kecamatan."""
    code = f"{digits[0:2]}.{digits[2:4]}.{digits[4:6]}"
    found = region(code)
    return code if found is not None and found.level == "kecamatan" else None


def _birth_date_part(value: str, today: dt.date) -> dt.date:
    day, month, year2 = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if day > _FEMALE_DAY_OFFSET:
        day -= _FEMALE_DAY_OFFSET
    year = 2000 + year2 if 2000 + year2 <= today.year else 1900 + year2
    try:
        born = dt.date(year, month, day)
    except ValueError:
        reason = _("digits 7-12 ({digits}) are not a date DDMMYY (women: day + 40)").format(digits=value[6:12])
        raise InvalidNIK(value, N_("birth date"), reason) from None
    if born > today:
        born = born.replace(year=year - 100)
    return born


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day`` for someone born on ``birth_date``."""
    years = day.year - birth_date.year
    return years - 1 if (day.month, day.day) < (birth_date.month, birth_date.day) else years


def latest_birth_date(age: int, day: dt.date) -> dt.date:
    """The last birth date of someone ``age`` or older on ``day``: ``age_on(b, day) >= age``
    exactly when ``b <= latest_birth_date(age, day)``."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February, ``age`` years back, is not a date
        return dt.date(day.year - age, 2, 28)


def mask(nik: str) -> str:
    """A NIK with birth date and serial hidden; the region digits stay."""
    return nik[:6] + "*" * (len(nik) - 6)
