"""What the API returns: immutable records of cards and events."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from .schema import cards, events, residents


@dataclass(frozen=True)
class Card:
    """A resident's card: who it is for and where it stands."""

    nik: str
    name: str
    #: the resident's current kecamatan, dotted (``16.71.05``).
    kecamatan: str
    birth_date: dt.date
    sex: str
    #: True when the resident held an e-KTP before (their card is a replacement).
    had_ektp: bool
    state: str
    #: incremented by every event; pass it back as ``expected_version``.
    version: int
    #: when the card's last event happened.
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO 8601 strings)."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Event:
    """One entry of the append-only history."""

    seq: int
    nik: str
    #: the card's version after this event.
    version: int
    trigger: str
    #: None for the event that registered the card.
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    lifecycle_hash: str
    idempotency_key: str | None
    #: the rule-set version that decided (allocation events), else None.
    rule_set_version: int | None
    #: the run the event belongs to (an allocation, a bulk job), else None.
    batch_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (times as ISO 8601 strings)."""
        return _jsonable(asdict(self))


#: The trigger recorded on the event that creates a card in the initial state.
REGISTER = "register"

CARD_COLUMNS = (
    residents.c.nik,
    residents.c.name,
    residents.c.kecamatan,
    residents.c.birth_date,
    residents.c.sex,
    residents.c.had_ektp,
    cards.c.state,
    cards.c.version,
    cards.c.updated_at,
)
CARD_FROM = cards.join(residents, cards.c.id == residents.c.id)

EVENT_COLUMNS = (
    events.c.seq,
    residents.c.nik,
    events.c.version,
    events.c.trigger,
    events.c.from_state,
    events.c.to_state,
    events.c.actor,
    events.c.reason,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.lifecycle_hash,
    events.c.idempotency_key,
    events.c.rule_set_version,
    events.c.batch_id,
)
EVENT_FROM = events.join(residents, events.c.card_id == residents.c.id)


def card_select() -> sa.Select[Any]:
    """SELECT of everything a ``Card`` holds."""
    return sa.select(*CARD_COLUMNS).select_from(CARD_FROM)


def event_select() -> sa.Select[Any]:
    """SELECT of everything an ``Event`` holds, in sequence order."""
    return sa.select(*EVENT_COLUMNS).select_from(EVENT_FROM).order_by(events.c.seq)


def card_from_row(row: Any) -> Card:
    return Card(*row)


def event_from_row(row: Any) -> Event:
    return Event(*row)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in data.items()}
