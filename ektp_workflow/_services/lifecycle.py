"""The shipped lifecycle, what its guard and effect names do, and one executor per lifecycle.

A guard returns None to let a transition happen, or the reason it refuses. An effect
does its part of the work in the same transaction as the state change, through the
Store's functions and the transaction handle the context carries.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .._store import ledger, replacements, residents
from .._store.cards import LockedCard
from .._store.store import Connection, Tx
from ..errors import DefinitionError
from ..i18n import _, ngettext
from ..nik import age_on
from ..records import QUEUE_STATE
from ..states import Effect, Executor, Guard, Lifecycle, Step, load_lifecycle

RECORDING_AGE = 16


@dataclass(slots=True)
class FireContext:
    """What guards and effects know about the transition under way."""

    #: the transaction; on the driver path only guards in ``CONNECTIONLESS_GUARDS`` run.
    tx: Tx
    card: LockedCard
    trigger: str
    actor: str
    reason: str | None
    at: dt.datetime
    #: the entries the effects made, ``(kind, row)``, appended right after the event.
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: what the caller says of the transition beyond its reason (a replacement's category
    #: and documents: ``Workflow.replace``).
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def conn(self) -> Connection:
        """The transaction's Connection: effects and guards that read the database run only
        where there is one (never on the driver path)."""
        assert isinstance(self.tx, Connection), "a guard or effect that uses the database ran on the driver path"
        return self.tx

    @property
    def new_version(self) -> int:
        """The card's version once this transition is written."""
        return self.card.version + 1

    @property
    def movement(self) -> ledger.Movement:
        return ledger.Movement(self.actor, self.at, self.reason)


def age_at_least_16(ctx: FireContext) -> str | None:
    """Recording may start at 16, counted on the event date."""
    day, born = ctx.at.date(), ctx.card.birth_date
    age = age_on(born, day)
    if age >= RECORDING_AGE:
        return None
    return _("the resident is {age} on {day} (born {born}); recording starts at {least}").format(
        age=age, day=day.isoformat(), born=born.isoformat(), least=RECORDING_AGE
    )


def blank_available(ctx: FireContext) -> str | None:
    """A blank must be in stock, unreserved, at the card's kecamatan."""
    if ledger.unallocated_at(ctx.conn, ctx.card.kecamatan) > 0:
        return None
    return _("no unallocated blank at kecamatan {kecamatan}").format(kecamatan=ctx.card.kecamatan)


def no_blank_available(ctx: FireContext) -> str | None:
    """A card waits again only when there is no blank to give it (else: ``reprint``)."""
    there = ledger.unallocated_at(ctx.conn, ctx.card.kecamatan)
    if there == 0:
        return None
    return ngettext(
        "{count} unreserved blank at kecamatan {kecamatan}: reprint on one",
        "{count} unreserved blanks at kecamatan {kecamatan}: reprint on one",
        there,
    ).format(count=there, kecamatan=ctx.card.kecamatan)


def reason_given(ctx: FireContext) -> str | None:
    """What happened must be said (what spoiled the blank)."""
    if ctx.reason and ctx.reason.strip():
        return None
    return _("a reason is required: what spoiled the blank (e.g. 'ribbon jam')")


def reserve_blank(ctx: FireContext) -> None:
    reserved = ledger.reserve(ctx.conn, ctx.card.id, ctx.new_version, ctx.card.kecamatan, ctx.movement)
    ctx.entries.append(("blank_entry", reserved))


def release_blank(ctx: FireContext) -> None:
    held = ctx.card.blank_batch_id
    if held is not None:  # most cards that die or move hold no blank
        released = ledger.release(ctx.conn, ctx.card.id, ctx.new_version, ctx.card.kecamatan, ctx.movement, held)
        if released is not None:
            ctx.entries.append(("blank_entry", released))


def consume_blank(ctx: FireContext) -> None:
    card = ctx.card
    consumed = ledger.consume(ctx.conn, card.id, ctx.new_version, card.kecamatan, ctx.movement, card.blank_batch_id)
    ctx.entries.append(("blank_entry", consumed))


def spoil_card_blank(ctx: FireContext) -> None:
    """The blank the card was printed on (or was to be) is spoiled, against the card."""
    card = ctx.card
    spoiled = ledger.spoil_card(ctx.conn, card.id, ctx.new_version, card.kecamatan, ctx.movement, card.blank_batch_id)
    ctx.entries.append(("blank_entry", spoiled))


def replacement_given(ctx: FireContext) -> str | None:
    """A replacement says why it is needed, and what that rests on (``Workflow.replace``)."""
    if ctx.details.get("category") in replacements.CATEGORIES:
        return None
    return _(
        "a replacement needs its category (lost, damaged or data_change) and what it rests on: "
        "use `ektp card replace` (Workflow.replace)"
    )


def record_replacement(ctx: FireContext) -> None:
    """The replacement's entry, chained after the event; the card keeps its category."""
    card = ctx.card
    replacements.set_category(ctx.conn, card.id, ctx.details["category"])
    made = replacements.entry(card.id, ctx.new_version, dict(ctx.details), ctx.actor, ctx.reason, ctx.at)
    ctx.entries.append(("replacement", made))


def mark_ektp_holder(ctx: FireContext) -> None:
    """The resident now holds an e-KTP: a later card (``replace``) is a replacement."""
    changed = residents.mark_ektp_holder(ctx.conn, ctx.card.id, ctx.actor, ctx.reason, ctx.at)
    if changed is not None:
        ctx.entries.append(("resident", changed))


GUARDS: dict[str, Guard] = {
    "age_at_least_16": age_at_least_16,
    "blank_available": blank_available,
    "no_blank_available": no_blank_available,
    "reason_given": reason_given,
    "replacement_given": replacement_given,
}
#: Guards that read only the context, never the database: a trigger whose transitions
#: have no effects and only these guards fires on the driver alone (``Store.on_driver``).
CONNECTIONLESS_GUARDS = frozenset({"age_at_least_16", "reason_given", "replacement_given"})
EFFECTS: dict[str, Effect] = {
    "reserve_blank": reserve_blank,
    "release_blank": release_blank,
    "consume_blank": consume_blank,
    "spoil_card_blank": spoil_card_blank,
    "mark_ektp_holder": mark_ektp_holder,
    "record_replacement": record_replacement,
}


@functools.cache
def default_lifecycle() -> Lifecycle:
    """The e-KTP lifecycle shipped with the package (``states/lifecycle.toml``)."""
    path = resources.files("ektp_workflow.states") / "lifecycle.toml"
    with resources.as_file(path) as file:
        return load_lifecycle(file, GUARDS, EFFECTS)


def joins_queue(step: Step) -> bool:
    """Whether a card taking ``step`` joins the queue for a blank at the event's time: it
    enters the queue by an edge that does not keep the place it had."""
    return step.dest == QUEUE_STATE and step.source != QUEUE_STATE and not step.keeps_place


_executors: dict[str, Executor] = {}


def executor_for(lifecycle: Lifecycle) -> Executor:
    """The lifecycle's executor, with these guards and effects: one per lifecycle for the
    whole process, shared by every card."""
    executor = _executors.get(lifecycle.hash)
    if executor is None:
        misplaced = [
            _("transitions ({trigger} from {source}): keeps_place, but it does not enter the queue ({queue})").format(
                trigger=t.trigger, source=t.source, queue=QUEUE_STATE
            )
            for t in lifecycle.transitions
            if t.keeps_place and (t.dest != QUEUE_STATE or t.source == QUEUE_STATE)
        ]
        if misplaced:
            raise DefinitionError(lifecycle.source, misplaced)
        executor = _executors[lifecycle.hash] = Executor(lifecycle, GUARDS, EFFECTS)
    return executor


def driver_triggers(lifecycle: Lifecycle) -> frozenset[str]:
    """The triggers all of whose transitions have no effects and only guards that use
    no database: a single fire runs them on the driver's connection alone."""
    needs_database = {
        t.trigger for t in lifecycle.transitions if t.effects or not set(t.guards) <= CONNECTIONLESS_GUARDS
    }
    return frozenset(lifecycle.triggers) - needs_database
