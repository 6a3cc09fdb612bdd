"""Replacements: why a resident who held an e-KTP needs another, chained with the event.

A ``replace`` writes one replacement entry (category, the document it rests on, the
correction that caused it) right after its event, and the card keeps the category
(``cards.replacement``, copied into the queue for the rules). Counting them for the
reports reads the queue and this table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import REPLACEMENT_CATEGORIES, cards, events, replacements, resident_entries, residents, waiting_cards

#: Why a resident who held an e-KTP needs another: lost, damaged, data_change.
CATEGORIES = REPLACEMENT_CATEGORIES


def entry(
    card_id: int,
    card_version: int,
    details: dict[str, Any],
    actor: str,
    reason: str | None,
    at: dt.datetime,
) -> dict[str, Any]:
    """The replacement entry of the card's ``replace`` (``details``: its category,
    reference, surrendered and correction_seq), to append with the event (the card's
    own category is ``set_category``'s)."""
    return {
        "card_id": card_id,
        "card_version": card_version,
        "category": details["category"],
        "reference": details.get("reference"),
        "surrendered": bool(details.get("surrendered", False)),
        "correction_seq": details.get("correction_seq"),
        "actor": actor,
        "reason": reason,
        "occurred_at": at,
    }


def set_category(conn: Connection, card_id: int, category: str) -> None:
    """The card's replacement category, before its move into the queue copies it there."""
    conn.execute(cards.update().where(cards.c.id == card_id).values(replacement=category))


def latest_correction(conn: Connection, resident_id: int) -> int | None:
    """The seq of the resident's latest correction, or None if their data was never corrected."""
    e = resident_entries.c
    latest = conn.scalar(sa.select(sa.func.max(e.seq)).where(e.resident_id == resident_id, e.change == "corrected"))
    return None if latest is None else int(latest)


def last_print(conn: Connection, card_id: int) -> int | None:
    """The seq of the card's last ``print_card`` event, or None if it was never printed."""
    e = events.c
    found = conn.scalar(sa.select(sa.func.max(e.seq)).where(e.card_id == card_id, e.trigger == "print_card"))
    return None if found is None else int(found)


def correction_of(conn: Connection, seq: int) -> int | None:
    """The resident a correction (by its entry's seq) corrected, or None if no correction has it."""
    e = resident_entries.c
    return conn.scalar(sa.select(e.resident_id).where(e.seq == seq, e.change == "corrected"))


def waiting_by_category(conn: Connection) -> dict[str, dict[str | None, int]]:
    """Replacements waiting for a blank per kecamatan and category (None: not known)."""
    w = waiting_cards.c
    query = (
        sa.select(w.kecamatan, w.replacement, sa.func.count()).where(w.had_ektp).group_by(w.kecamatan, w.replacement)
    )
    counted: dict[str, dict[str | None, int]] = {}
    for kecamatan, category, count in conn.execute(query):
        counted.setdefault(kecamatan, {})[category] = int(count)
    return counted


def made_by_category(conn: Connection, since: dt.datetime | None) -> dict[str, dict[str, int]]:
    """Replacements made (since ``since``) per kecamatan where the resident lives now, and category."""
    x = replacements.c
    query = (
        sa.select(residents.c.kecamatan, x.category, sa.func.count())
        .join(residents, residents.c.id == x.card_id)
        .group_by(residents.c.kecamatan, x.category)
    )
    if since is not None:
        query = query.where(x.occurred_at >= since)
    counted: dict[str, dict[str, int]] = {}
    for kecamatan, category, count in conn.execute(query):
        counted.setdefault(kecamatan, {})[category] = int(count)
    return counted
