"""Dates, times and numbers as an Indonesian reader writes them."""

from __future__ import annotations

import datetime as dt

from ..clock import WIB

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def moment(at: dt.datetime, zone: dt.tzinfo = WIB) -> str:
    """``2 Desember 2026 pukul 13.20 WIB``, in ``zone`` (the region's: WIB, WITA, WIT)."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} pukul {local:%H.%M} {local.tzname()}"


def day(at: dt.datetime, zone: dt.tzinfo = WIB) -> str:
    """``2 Desember 2026``: the day in ``zone``."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}"


def number(value: object) -> str:
    """``20.000``: thousands separated by dots; anything else as it is."""
    return f"{value:,}".replace(",", ".") if isinstance(value, int) and not isinstance(value, bool) else str(value)
