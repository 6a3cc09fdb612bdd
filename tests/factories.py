"""Test data: valid NIKs and residents built from the official region codes."""

from __future__ import annotations

import datetime as dt
import itertools

from ektp_workflow import ResidentRecord

PALEMBANG_ILIR_TIMUR_SATU = "16.71.05"
PALEMBANG_SAKO = "16.71.08"
_serials = itertools.count(1)


def make_nik(
    region: str = PALEMBANG_ILIR_TIMUR_SATU,
    born: dt.date = dt.date(1990, 5, 17),
    sex: str = "M",
    serial: int | None = None,
) -> str:
    """A valid NIK: region digits, DDMMYY (+40 on the day for women), serial."""
    day = born.day + (40 if sex == "F" else 0)
    # a session makes more than 9,999 residents; each test has a database of its own, so
    # the four serial digits may wrap (a NIK of five would be refused)
    number = serial if serial is not None else next(_serials) % 9999 + 1
    return f"{region.replace('.', '')}{day:02d}{born.month:02d}{born.year % 100:02d}{number:04d}"


def make_resident(
    kecamatan: str = PALEMBANG_ILIR_TIMUR_SATU,
    born: dt.date = dt.date(1990, 5, 17),
    sex: str = "M",
    had_ektp: bool = False,
    name: str = "Budi Santoso",
    region: str | None = None,
) -> ResidentRecord:
    """A resident with a fresh, valid NIK."""
    nik = make_nik(region or kecamatan, born, sex)
    return ResidentRecord(nik, name, kecamatan, had_ektp, born)
