"""Reading cards and their events: one snapshot each, no write lock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from .. import text
from .._store import cards, eventlog
from .._store.store import Connection, Store
from ..clock import now
from ..errors import CardNotFound, WorkflowError
from ..i18n import _
from ..nik import lookup_key, parse_nik
from ..records import Card, CardPage, Event
from ..regions import kecamatan_of
from ..states import Lifecycle
from ..text import search_key


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
        raise _unknown_state(state, lifecycle)
    code = kecamatan_of(kecamatan).code if kecamatan is not None else None
    with store.reading() as tx:
        return cards.listed(tx, state, code, after_nik, limit)


def _unknown_state(state: str, lifecycle: Lifecycle) -> WorkflowError:
    states = ", ".join(lifecycle.states)
    return WorkflowError(_("unknown state {state!r}; expected one of: {states}").format(state=state, states=states))


#: The longest page a list gives.
MAX_PAGE = 10_000
# Where the queue is ordered in Python (rules without comparable SQL keys), the NIKs
# looked up at a time.
_LOOKUP = 1000


def page(
    store: Store,
    lifecycle: Lifecycle,
    *,
    states: Sequence[str] = (),
    kecamatan: str | None = None,
    replacement: bool | None = None,
    waiting_longer_than: int | None = None,
    name: str | None = None,
    nik_prefix: str | None = None,
    order: str = "nik",
    after: str | None = None,
    limit: int = 50,
) -> CardPage:
    """See ``Workflow.list_cards``."""
    which = _which(lifecycle, states, kecamatan, replacement, waiting_longer_than, name, nik_prefix)
    if order not in cards.ORDERS:
        orders = ", ".join(cards.ORDERS)
        raise WorkflowError(_("unknown order {order!r}; expected one of: {orders}").format(order=order, orders=orders))
    if not 1 <= limit <= MAX_PAGE:
        raise WorkflowError(
            _("limit {limit} is out of range; expected 1 to {most:,}").format(limit=limit, most=MAX_PAGE)
        )
    anchor = _cursor(order, after)
    with store.reading() as tx:  # one snapshot: the queue's order and the cards agree
        if order != "queue":
            found = cards.page(tx, which, order, anchor, limit)
            last = found[-1] if len(found) == limit else None
            return CardPage(found, None if last is None else _next(order, last))
        return _queue_page(tx, which, anchor, limit)


def _which(
    lifecycle: Lifecycle,
    states: Sequence[str],
    kecamatan: str | None,
    replacement: bool | None,
    waiting_longer_than: int | None,
    name: str | None,
    nik_prefix: str | None,
) -> cards.CardFilter:
    for state in states:
        if state not in lifecycle.states:
            raise _unknown_state(state, lifecycle)
    if waiting_longer_than is not None and not 0 <= waiting_longer_than <= 100_000:
        raise WorkflowError(
            _("waiting longer than {days} days: expected 0 to 100,000 days").format(days=waiting_longer_than)
        )
    key = None
    if name is not None:
        key = search_key(text.line(name, _("name to search for")))
        if not key:
            raise WorkflowError(_("the name to search for is empty; expected part of a name, e.g. 'siti'"))
    if nik_prefix is not None and not (nik_prefix.isascii() and nik_prefix.isdigit() and len(nik_prefix) <= 16):
        raise WorkflowError(_("NIK prefix {prefix!r}: expected 1 to 16 digits, e.g. 167105").format(prefix=nik_prefix))
    since = None if waiting_longer_than is None else now() - dt.timedelta(days=waiting_longer_than)
    return cards.CardFilter(
        tuple(dict.fromkeys(states)),
        kecamatan_of(kecamatan).code if kecamatan is not None else None,
        replacement,
        since,
        key,
        nik_prefix or None,
    )


def _cursor(order: str, after: str | None) -> tuple[Any, ...] | None:
    """The order values a cursor names (``_next`` makes them)."""
    if after is None:
        return None
    if order == "waiting":
        at, __, nik = after.partition("/")
        try:
            return (dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(dt.UTC), _nik(nik, after))
        except ValueError:
            pass
        raise WorkflowError(
            _("cursor {cursor!r} is not one of a list by waiting time; expected TIME/NIK as printed").format(
                cursor=after
            )
        )
    if order == "queue":
        nik, dot, mark = after.partition(".")
        if not dot or len(mark) != _MARK:
            raise WorkflowError(
                _("cursor {cursor!r} is not one of a list in queue order; expected NIK.MARK as printed").format(
                    cursor=after
                )
            )
        return (_nik(nik, after), mark)
    return (_nik(after, after),)


def _nik(value: str, cursor: str) -> str:
    if not (len(value) == 16 and value.isascii() and value.isdigit()):
        raise WorkflowError(
            _("cursor {cursor!r} does not end in a NIK; pass the cursor a page printed").format(cursor=cursor)
        )
    return value


def _next(order: str, last: Card) -> str:
    if order == "waiting":
        return (
            f"{last.updated_at.astimezone(dt.UTC).isoformat(timespec='microseconds').replace('+00:00', 'Z')}/{last.nik}"
        )
    return last.nik


def _queue_page(tx: Connection, which: cards.CardFilter, anchor: tuple[Any, ...] | None, limit: int) -> CardPage:
    """Waiting cards in queue order: the kecamatan, then the active rules' order (in SQL
    where the rules' keys compare there, else sorted here as the planner sorts).

    A queue cursor is the last card's NIK and a mark of its place: the rule-set version,
    the day and the card's row of the queue (all a rule's key is made of). If any of them
    changed, the card may stand elsewhere now, and the next page is refused rather than
    guessed.
    """
    from .._store import queue, rulesets  # the rules load only for a list of the queue
    from ..rules.planner import order_queue, sql_keys_of
    from .allocation import queue_rules

    active = rulesets.active(tx)
    rules, day = queue_rules(active.rule_set), now().date()
    if anchor is not None:
        _check_anchor(tx, which, anchor, active.version, day)
    sql_keys = sql_keys_of(rules)
    if sql_keys is not None and queue.comparable(sql_keys, day):
        found = cards.page(tx, which, "queue", anchor, limit, queue.order_of(sql_keys, day))
    else:
        codes = [which.kecamatan] if which.kecamatan is not None else sorted(queue.waiting_counts(tx))
        niks = [a.nik for code in codes for a in order_queue(queue.applicants(tx, code), rules, day)]
        start = niks.index(anchor[0]) + 1 if anchor is not None else 0
        found = []
        while start < len(niks) and len(found) < limit:
            chunk = niks[start : start + _LOOKUP]
            selected = cards.among(tx, which, chunk)
            found += [selected[nik] for nik in chunk if nik in selected]
            start += _LOOKUP
        found = found[:limit]
    if len(found) < limit:
        return CardPage(found, None)
    last = found[-1].nik
    return CardPage(found, f"{last}.{_mark(queue.place(tx, last), active.version, day)}")


def _check_anchor(tx: Connection, which: cards.CardFilter, anchor: tuple[Any, ...], version: int, day: dt.date) -> None:
    from .._store import queue

    nik, mark = anchor
    place = queue.place(tx, nik)
    if place is None:
        raise WorkflowError(
            _("the card {nik} a page ended on is not in the queue any more; list the queue from its start").format(
                nik=nik
            )
        )
    if which.kecamatan is not None and place[0] != which.kecamatan:
        raise WorkflowError(
            _("cursor {nik}.{mark} is of the queue of kecamatan {kecamatan}, not {asked}").format(
                nik=nik, mark=mark, kecamatan=place[0], asked=which.kecamatan
            )
        )
    if _mark(place, version, day) != mark:
        raise WorkflowError(
            _(
                "the card {nik} a page ended on may stand elsewhere in the queue now (its data, the rules or the day "
                "changed since); list the queue from its start"
            ).format(nik=nik)
        )


#: The length of a queue cursor's mark.
_MARK = 12


def _mark(place: Sequence[Any] | None, version: int, day: dt.date) -> str:
    """A short hash of what a card's place in the queue depends on."""
    text = json.dumps([version, day.isoformat(), *map(str, place or ())])
    return hashlib.sha256(text.encode()).hexdigest()[:_MARK]


def events_after(store: Store, seq: int, limit: int) -> list[Event]:
    """See ``Workflow.events_after``."""
    with store.reading() as tx:
        return eventlog.after(tx, seq, limit)


def counts(store: Store) -> dict[str, dict[str, int]]:
    """See ``Workflow.counts``."""
    with store.reading() as tx:
        return cards.counts(tx)
