"""Peers doing the same lifecycle steps the straightforward way.

- ``orm``: a ``transitions.Machine`` per card and a SQLAlchemy ORM session commit per
  card, as a first implementation of this product would do.
- ``eventsourcing``: the ``eventsourcing`` library on SQLite, one aggregate per card,
  saved in batches (its fastest way to write many).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from transitions import Machine

STATES = ["unrecorded", "recorded", "prr", "deduplicated"]
TRANSITIONS = [
    {"trigger": "record", "source": "unrecorded", "dest": "recorded"},
    {"trigger": "submit", "source": "recorded", "dest": "prr"},
    {"trigger": "confirm_single", "source": "prr", "dest": "deduplicated"},
]


class Base(DeclarativeBase):
    pass


class CardRow(Base):
    __tablename__ = "peer_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str]
    state: Mapped[str]
    version: Mapped[int]


class EventRow(Base):
    __tablename__ = "peer_events"
    seq: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int]
    trigger: Mapped[str]
    from_state: Mapped[str]
    to_state: Mapped[str]


def orm_peer(path: str, count: int) -> tuple[int, float]:
    """``record`` on ``count`` cards: a Machine per card, a commit per card."""
    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(CardRow(id=i, nik=f"{i:016d}", state="unrecorded", version=1) for i in range(1, count + 1))
        session.commit()
    started = time.perf_counter()
    with Session(engine) as session:
        for card in session.scalars(sa.select(CardRow)).all():
            before = card.state
            Machine(model=card, states=STATES, transitions=TRANSITIONS, initial=card.state, auto_transitions=False)
            card.record()  # type: ignore[attr-defined]
            card.version += 1
            session.add(EventRow(card_id=card.id, trigger="record", from_state=before, to_state=card.state))
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count, elapsed


def eventsourcing_peer(path: str, count: int, batch: int = 1000) -> tuple[int, float]:
    """``record`` on ``count`` card aggregates: load each, fire, save in batches."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Card(Aggregate):
        @event("Registered")
        def __init__(self, nik: str) -> None:
            self.nik, self.state = nik, "unrecorded"

        @event("Recorded")
        def record(self) -> None:
            self.state = "recorded"

    app: Any = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "30"}
    )
    ids: list[uuid.UUID] = []
    for start in range(0, count, batch):
        cards = [Card(f"{i:016d}") for i in range(start, min(count, start + batch))]
        app.save(*cards)
        ids += [c.id for c in cards]
    started = time.perf_counter()
    for start in range(0, count, batch):
        loaded = [app.repository.get(i) for i in ids[start : start + batch]]
        for card in loaded:
            card.record()
        app.save(*loaded)
    return count, time.perf_counter() - started
