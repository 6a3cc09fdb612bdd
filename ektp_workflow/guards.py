"""The guards and effects a lifecycle definition may name, and what they do.

A guard returns None to let a transition happen, or the reason it refuses. An
effect does its part of the work in the same transaction as the state change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from . import ledger
from .nik import age_on
from .schema import residents
from .states.machine import Effect, Guard

RECORDING_AGE = 16


@dataclass(slots=True)
class FireContext:
    """What guards and effects know about the transition under way."""

    #: the transaction's connection; None where only guards in CONNECTIONLESS_GUARDS run.
    connection: Connection | None
    card_id: int
    nik: str
    kecamatan: str
    birth_date: dt.date
    trigger: str
    #: the card's version once this transition is written.
    new_version: int
    actor: str
    reason: str | None
    at: dt.datetime
    #: the batch whose blank the card holds (read with the card), or None.
    held_batch: int | None = None

    @property
    def conn(self) -> Connection:
        assert self.connection is not None, "a guard or effect that uses the database ran without a connection"
        return self.connection

    @property
    def movement(self) -> ledger.Movement:
        return ledger.Movement(self.actor, self.at, self.reason)


def age_at_least_16(ctx: FireContext) -> str | None:
    """Recording may start at 16, counted on the event date."""
    day = ctx.at.date()
    age = age_on(ctx.birth_date, day)
    if age >= RECORDING_AGE:
        return None
    return f"the resident is {age} on {day.isoformat()} (born {ctx.birth_date.isoformat()}); recording starts at {RECORDING_AGE}"


def blank_available(ctx: FireContext) -> str | None:
    """A blank must be in stock, unreserved, at the card's kecamatan."""
    if ledger.unallocated_at(ctx.conn, ctx.kecamatan) > 0:
        return None
    return f"no unallocated blank at kecamatan {ctx.kecamatan}"


def reserve_blank(ctx: FireContext) -> None:
    ledger.reserve(ctx.conn, ctx.card_id, ctx.new_version, ctx.kecamatan, ctx.movement)


def release_blank(ctx: FireContext) -> None:
    if ctx.held_batch is not None:  # most cards that die or move hold no blank
        ledger.release(ctx.conn, ctx.card_id, ctx.new_version, ctx.kecamatan, ctx.movement, ctx.held_batch)


def consume_blank(ctx: FireContext) -> None:
    ledger.consume(ctx.conn, ctx.card_id, ctx.new_version, ctx.kecamatan, ctx.movement, ctx.held_batch)


def mark_ektp_holder(ctx: FireContext) -> None:
    """The resident now holds an e-KTP: a later card (``replace``) is a replacement."""
    ctx.conn.execute(residents.update().where(residents.c.id == ctx.card_id).values(had_ektp=True))


GUARDS: dict[str, Guard] = {
    "age_at_least_16": age_at_least_16,
    "blank_available": blank_available,
}
#: Guards that read only the context, never the database: ``Workflow.fire`` runs a
#: trigger whose transitions have no effects and only these guards on the driver alone.
CONNECTIONLESS_GUARDS = frozenset({"age_at_least_16"})
EFFECTS: dict[str, Effect] = {
    "reserve_blank": reserve_blank,
    "release_blank": release_blank,
    "consume_blank": consume_blank,
    "mark_ektp_holder": mark_ektp_holder,
}
