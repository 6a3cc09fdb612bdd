"""Replacements with a reason: a collected card's resident needs another, and says why.

``lost`` rests on the police report (its reference), ``damaged`` on the old card
handed in, ``data_change`` on the correction of the resident's data that made the
card wrong (the resident's latest, unless named). One transaction: the ``replace``
event and, chained right after it, the replacement entry; the card keeps the
category, which the queue copies for the rules (a queue rule may order the
categories) and the reports count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from .. import text
from .._provenance import event_time, require_actor
from .._store import cards, eventlog, replacements
from .._store.store import Connection, Store
from ..errors import CardNotFound, TransitionNotAllowed, WorkflowError
from ..i18n import _
from ..nik import lookup_key, parse_nik
from ..records import Event, FireRequest
from ..regions import name_of
from .transitions import Transitions

REPLACE = "replace"
#: lost, damaged, data_change.
CATEGORIES = replacements.CATEGORIES


@dataclass(frozen=True)
class Replacement:
    """A replacement made: why, what it rests on, and its ``replace`` event."""

    nik: str
    #: ``lost``, ``damaged`` or ``data_change``.
    category: str
    #: lost: the police report's reference; damaged: the receipt for the old card, if any.
    reference: str | None
    #: the old card was handed in.
    surrendered: bool
    #: data_change: the seq of the correction (a resident entry) that made a new card needed.
    correction_seq: int | None
    event: Event

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "event": self.event.as_dict()}


@dataclass(frozen=True)
class ReplacementCount:
    """One kecamatan's replacements by category: waiting for a blank now, and made."""

    kecamatan: str
    name: str
    #: waiting now, by category; ``unknown`` for a replacement whose reason the history
    #: does not hold (an e-KTP held before the resident was registered).
    waiting: dict[str, int]
    #: made (``replace``) in the period, by category.
    made: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def replace(
    store: Store,
    transitions: Transitions,
    nik: str,
    category: str,
    *,
    actor: str,
    reference: str | None = None,
    surrendered: bool = False,
    correction: int | None = None,
    reason: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
) -> Replacement:
    """See ``Workflow.replace``."""
    actor, when = require_actor(actor), event_time(at)
    cited = None if reference is None else text.reference(reference, _("reference"))
    _check(category, cited, surrendered, correction)
    value, why = lookup_key(nik), text.free(reason, _("reason"))

    def work(tx: Connection) -> Replacement:
        eventlog.lock_head(tx)  # every writer takes the chain head first: one lock order
        card = cards.kecamatan_and_state(tx, value)
        if card is None:
            raise CardNotFound(parse_nik(value).value)
        if transitions.lifecycle.transition(card.state, REPLACE) is None:  # before its documents
            raise TransitionNotAllowed(REPLACE, card.state, transitions.lifecycle.triggers_from(card.state))
        cause = _correction(tx, value, card.id, correction) if category == "data_change" else None
        details = {"category": category, "reference": cited, "surrendered": surrendered, "correction_seq": cause}
        event = transitions.apply(tx, FireRequest(value, REPLACE, why, when), actor, None, details=details)
        return Replacement(value, category, cited, surrendered, cause, event)

    done = store.retrying(work, dry_run)
    return dataclasses.replace(done, event=dataclasses.replace(done.event, seq=0)) if dry_run else done


def _check(category: str, reference: str | None, surrendered: bool, correction: int | None) -> None:
    """What each category rests on.

    :raises WorkflowError: an unknown category, or what it needs missing.
    """
    if category not in CATEGORIES:
        raise WorkflowError(
            _("category: {category!r} is not one of {categories}").format(
                category=category, categories=", ".join(CATEGORIES)
            )
        )
    if not isinstance(surrendered, bool):
        raise WorkflowError(_("surrendered: {value!r} is not True or False").format(value=surrendered))
    if correction is not None and (
        isinstance(correction, bool) or not isinstance(correction, int) or not 0 < correction < 2**63
    ):
        raise WorkflowError(
            _("correction: {value!r} is not the seq of a correction (see ektp residents history)").format(
                value=correction
            )
        )
    if category == "lost" and not reference:
        raise WorkflowError(
            _("a lost card's replacement needs the reference of the police report (surat keterangan hilang)")
        )
    if category == "damaged" and not surrendered:
        raise WorkflowError(_("a damaged card's replacement needs the old card surrendered: record it once handed in"))
    if correction is not None and category != "data_change":
        raise WorkflowError(
            _("a correction is the cause of a data_change replacement, not of a {category} one").format(
                category=category
            )
        )


def _correction(tx: Connection, nik: str, resident_id: int, named: int | None) -> int:
    """The correction a data_change rests on: the one named, which must be of this resident,
    or the resident's latest; made after the card was last printed (a card printed since
    carries the corrected data already, and one correction justifies one new card).

    :raises WorkflowError: none recorded, the one named corrected someone else, or it
        was made before the card was last printed.
    """
    printed = replacements.last_print(tx, resident_id)
    if named is None:
        latest = replacements.latest_correction(tx, resident_id)
        if latest is None or (printed is not None and latest < printed):
            if latest is None:
                message = _(
                    "no correction of the data of {nik} is recorded: correct it first "
                    "(ektp residents correct), then replace the card"
                )
            else:
                message = _(
                    "no correction of the data of {nik} is recorded since the card was printed: correct it first "
                    "(ektp residents correct), then replace the card"
                )
            raise WorkflowError(message.format(nik=nik))
        return latest
    if replacements.correction_of(tx, named) != resident_id:
        raise WorkflowError(
            _("seq {seq} is not a correction of the data of {nik}: see ektp residents history {nik}").format(
                seq=named, nik=nik
            )
        )
    if printed is not None and named < printed:
        raise WorkflowError(
            _(
                "correction seq {seq} was made before the card of {nik} was printed (seq {printed}): "
                "that card carries the corrected data already"
            ).format(seq=named, nik=nik, printed=printed)
        )
    return named


def counts(tx: Connection, since: dt.datetime | None) -> list[ReplacementCount]:
    """Per kecamatan (where the residents live now), replacements waiting and made, by category."""
    waiting, made = replacements.waiting_by_category(tx), replacements.made_by_category(tx, since)
    rows = []
    for kecamatan in sorted(set(waiting) | set(made)):
        now = {c: waiting.get(kecamatan, {}).get(c, 0) for c in CATEGORIES}
        now["unknown"] = waiting.get(kecamatan, {}).get(None, 0)
        rows.append(
            ReplacementCount(
                kecamatan, name_of(kecamatan), now, {c: made.get(kecamatan, {}).get(c, 0) for c in CATEGORIES}
            )
        )
    return rows
