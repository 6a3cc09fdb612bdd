"""Reprints: the blank was spoiled while printing a card.

One command, one transaction, one event: the blank is recorded as spoiled against the
card (``misprinted`` when it was still reserved, ``voided`` when its print had been
recorded), and the card either gets the next unreserved blank at its kecamatan at once
(``reprint``) or, when there is none, waits in the place it had in the queue
(``requeue``, an edge that keeps the card's place). Which of the two is decided under
the chain head's lock, which every writer of stock takes before any stock row: no
blank is taken or brought in between. A busy database is retried; an idempotency key
makes a retry by the operator (or a second desk reporting the same failure with the
same key) apply once, and an expected version refuses a card that changed since.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from .. import text
from .._provenance import event_time, require_actor
from .._store import cards, eventlog
from .._store.store import Connection, Store
from ..errors import CardNotFound, GuardFailed, IdempotencyConflict, TransitionNotAllowed, WorkflowError
from ..i18n import _
from ..nik import lookup_key, parse_nik
from ..records import QUEUE_STATE, Event, FireRequest
from .transitions import Transitions

#: The trigger that gives the card the next blank, and the one that makes it wait.
REPRINT, REQUEUE = "reprint", "requeue"
#: The triggers that, right after ``print_card``, make its print void.
VOIDING = (REPRINT, REQUEUE)
#: How the spoiled blank is recorded, by the card's state: still reserved, or printed on.
SPOILED_AS = {"allocated": "misprinted", "printed": "voided"}


@dataclass(frozen=True)
class Reprint:
    """What a reprint did: the spoiled blank on the ledger, and where the card stands."""

    nik: str
    #: the card's kecamatan, where the blank was spoiled and the next one is taken.
    kecamatan: str
    #: ``misprinted`` (the blank was reserved for the card) or ``voided`` (its print had
    #: been recorded): either way spoiled, against the card.
    spoiled: str
    #: the one event: ``reprint`` (the next blank is reserved for the card) or ``requeue``
    #: (no blank in stock: it waits for the next in the place it had).
    event: Event

    @property
    def waiting(self) -> bool:
        """True when no blank was in stock and the card waits again, keeping its place."""
        return self.event.to_state == QUEUE_STATE


def reprint(
    store: Store,
    transitions: Transitions,
    nik: str,
    *,
    actor: str,
    reason: str,
    at: dt.datetime | None = None,
    idempotency_key: str | None = None,
    expected_version: int | None = None,
    dry_run: bool = False,
) -> Reprint:
    """See ``Workflow.reprint``."""
    actor, when = require_actor(actor), event_time(at)
    why = text.free(reason, _("reason"))
    if not why or not why.strip():
        raise WorkflowError(
            _("a reprint needs a reason: what spoiled the blank (e.g. 'ribbon jam', 'chip not written')")
        )
    value = lookup_key(nik)

    def work(tx: Connection) -> Reprint:
        eventlog.lock_head(tx)  # every writer takes the chain head first: one lock order
        card = cards.kecamatan_and_state(tx, value)
        if card is None:
            raise CardNotFound(parse_nik(value).value)
        if idempotency_key is not None and (done := eventlog.with_key(tx, idempotency_key)) is not None:
            return _again(done, value, card.kecamatan, idempotency_key)
        spoiled = SPOILED_AS.get(card.state)
        if spoiled is None:
            raise _not_reprintable(value, card.state)
        request = FireRequest(value, REPRINT, why, when, idempotency_key)
        try:
            event = transitions.apply(tx, request, actor, expected_version)
        except GuardFailed as refused:
            if refused.guard != "blank_available":
                raise
            # Nothing was written, and the head stays locked: no blank can arrive meanwhile.
            request = dataclasses.replace(request, trigger=REQUEUE)
            event = transitions.apply(tx, request, actor, expected_version)
        return Reprint(value, card.kecamatan, spoiled, event)

    done = store.retrying(work, dry_run)
    return dataclasses.replace(done, event=dataclasses.replace(done.event, seq=0)) if dry_run else done


def _not_reprintable(nik: str, state: str) -> TransitionNotAllowed:
    message = _(
        "the card of {nik} is {state}: only a card allocated a blank or printed can be "
        "reprinted (a spoiled blank with no card: ektp blanks spoil)"
    ).format(nik=nik, state=state)
    return TransitionNotAllowed(REPRINT, state, message=message)


def _again(done: Event, nik: str, kecamatan: str, key: str) -> Reprint:
    """The reprint an idempotency key already made (a retry of the same request).

    :raises IdempotencyConflict: the key was used for something else.
    """
    if done.nik != nik or done.trigger not in (REPRINT, REQUEUE) or done.from_state not in SPOILED_AS:
        on = _("{trigger} on {nik}")
        raise IdempotencyConflict(
            key, on.format(trigger=done.trigger, nik=done.nik), on.format(trigger=REPRINT, nik=nik)
        )
    return Reprint(nik, kecamatan, SPOILED_AS[done.from_state], done)
