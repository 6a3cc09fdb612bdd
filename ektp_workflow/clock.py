"""The time used for events: timezone-aware, in Western Indonesian Time by default.

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
