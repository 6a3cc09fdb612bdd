"""Reading cards and their events: one snapshot each, no write lock."""

from __future__ import annotations

from .._store import cards, eventlog
from .._store.store import Store
from ..errors import CardNotFound, WorkflowError
from ..nik import lookup_key, parse_nik
from ..records import Card, Event
from ..regions import kecamatan_of
from ..states import Lifecycle


def card(store: Store, nik: str) -> Card:
    """See ``Workflow.card``."""
    value = lookup_key(nik)  # a registered NIK was validated: parse only to say what is wrong
    with store.reading() as tx:
        found = cards.card(tx, value)
    if found is None:
        raise CardNotFound(parse_nik(value).value)
    return found


def history(store: Store, nik: str) -> list[Event]:
    """See ``Workflow.history``."""
    value = lookup_key(nik)
    with store.reading() as tx:  # the card and its events in one snapshot
        found = cards.card(tx, value)
        events = eventlog.of_card(tx, value) if found is not None else []
    if found is None:
        raise CardNotFound(parse_nik(value).value)
    return events


def listed(
    store: Store, lifecycle: Lifecycle, state: str | None, kecamatan: str | None, after_nik: str | None, limit: int
) -> list[Card]:
    """See ``Workflow.cards``."""
    if state is not None and state not in lifecycle.states:
        raise WorkflowError(f"unknown state {state!r}; expected one of: {', '.join(lifecycle.states)}")
    code = kecamatan_of(kecamatan).code if kecamatan is not None else None
    with store.reading() as tx:
        return cards.listed(tx, state, code, after_nik, limit)


def events_after(store: Store, seq: int, limit: int) -> list[Event]:
    """See ``Workflow.events_after``."""
    with store.reading() as tx:
        return eventlog.after(tx, seq, limit)


def counts(store: Store) -> dict[str, dict[str, int]]:
    """See ``Workflow.counts``."""
    with store.reading() as tx:
        return cards.counts(tx)
