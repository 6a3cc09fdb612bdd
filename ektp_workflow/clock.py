"""The time used for events: timezone-aware, in Western Indonesian Time by default, and
the zones of the regions.

Dates that rules depend on (a resident's 16th birthday) are read in the event's own
time zone, so the default is the local time of the offices, not UTC. Indonesia has
no daylight saving time, so a fixed offset is exact.
"""

from __future__ import annotations

import datetime as dt

#: Waktu Indonesia Barat (Sumatra, Java, West and Central Kalimantan).
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def now() -> dt.datetime:
    """The current time in WIB."""
    return dt.datetime.now(WIB)


#: Waktu Indonesia Tengah (Bali, Nusa Tenggara, East, South and North Kalimantan, Sulawesi).
WITA = dt.timezone(dt.timedelta(hours=8), "WITA")
#: Waktu Indonesia Timur (Maluku and Papua).
WIT = dt.timezone(dt.timedelta(hours=9), "WIT")
#: The three zones by name, and UTC.
ZONES = {"WIB": WIB, "WITA": WITA, "WIT": WIT, "UTC": dt.UTC}
_WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
_WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})


def zone_of(code: str) -> dt.timezone:
    """The time zone of a region (a province, kabupaten/kota or kecamatan code, dotted
    or not): its province's, WIB for Sumatra, Java, West and Central Kalimantan, WITA
    for Bali, Nusa Tenggara, the rest of Kalimantan and Sulawesi, WIT for Maluku and
    Papua (Keppres 41/1987)."""
    province = code.strip()[:2]
    if province in _WIT_PROVINCES:
        return WIT
    return WITA if province in _WITA_PROVINCES else WIB
