"""Corrections of residents' data: one transaction, one chained resident entry (all of
the data after, with the reason and the evidence), and at once what the change implies.

A kecamatan change moves the card's queue row (the database's triggers keep the queue)
and releases a blank reserved at the old kecamatan, by the lifecycle's ``release``
trigger, in the same transaction. A birth-date change is checked again by every age
guard the card has passed. What the NIK encodes (the birth day and month, the year's
last two digits, the sex) cannot be corrected: a wrong NIK needs a new NIK. So a
birth-date correction settles the century (a resident born in 1925 imported as 2025),
and the sex is not a field here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from .. import text
from .._provenance import event_time, require_actor
from .._residents import validate_resident
from .._store import cards, eventlog, residents
from .._store.store import Connection, Store
from ..errors import CardNotFound, WorkflowError
from ..i18n import N_, _
from ..nik import age_on, lookup_key, parse_nik
from ..records import Correction, FireRequest, ResidentRecord
from ..regions import name_of
from ..states import Lifecycle
from .lifecycle import RECORDING_AGE
from .transitions import Transitions

#: What a correction may change, in the order a correction lists it.
CORRECTABLE = ("name", "birth_date", "kecamatan", "had_ektp", "disaster_victim", "suket")
#: The trigger that gives a reserved blank back when the resident's kecamatan changes.
RELEASE = "release"
_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "birth_date": dt.date,
    "kecamatan": str,
    "had_ektp": bool,
    "disaster_victim": bool,
    "suket": bool,
}
_TYPE_NAMES = {"name": N_("text"), "birth_date": N_("a date"), "kecamatan": N_("a kecamatan code")}
_TYPE_NAMES.update(dict.fromkeys(("had_ektp", "disaster_victim", "suket"), N_("True or False")))


def correct(
    store: Store,
    lifecycle: Lifecycle,
    nik: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    evidence: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
) -> Correction:
    """See ``Workflow.correct``."""
    actor, when = require_actor(actor), event_time(at)
    with store.transaction(dry_run=dry_run) as tx:
        eventlog.lock_head(tx)  # every writer takes the chain head first: one lock order
        done = apply(tx, Transitions(store, lifecycle), nik, changes, actor, reason, evidence, when)
    return unwritten(done) if dry_run else done


def unwritten(done: Correction) -> Correction:
    """A correction as a dry run reports it: nothing has a place in the chain."""
    released = None if done.released is None else dataclasses.replace(done.released, seq=0)
    return dataclasses.replace(done, seq=0, released=released)


def apply(
    tx: Connection,
    transitions: Transitions,
    nik: str,
    changes: Mapping[str, Any],
    actor: str,
    reason: str,
    evidence: str | None,
    at: dt.datetime,
) -> Correction:
    """Correct one resident in the caller's transaction, which holds the chain head.

    :raises WorkflowError: an unknown field, no reason, nothing that changes, a NIK the
        new data contradicts, a kecamatan outside the city, or an age guard the card
        passed that the new birth date fails.
    """
    _check_fields(changes)
    why = text.free(reason, _("reason"))
    if not why or not why.strip():
        raise WorkflowError(_("a correction needs a reason (what was wrong, and who said so)"))
    cited = text.reference(evidence, _("evidence")) if evidence is not None else None
    value = lookup_key(nik)
    card = cards.kecamatan_and_state(tx, value)
    if card is None:
        raise CardNotFound(parse_nik(value).value)
    before = residents.data_of(tx, card.id)
    assert before is not None
    after = _corrected(value, before, changes, at.date())
    changed = {name: (before[name], after[name]) for name in CORRECTABLE if before[name] != after[name]}
    if not changed:
        raise WorkflowError(_("nothing to correct: the resident of {nik} already has these data").format(nik=value))
    _allowed(tx, transitions.lifecycle, value, card, changed)
    released = None
    if "kecamatan" in changed and RELEASE in transitions.lifecycle.triggers_from(card.state):
        # the event's reason, kept in the history: not translated
        request = FireRequest(value, RELEASE, f"kecamatan corrected: {why}", at)
        released = transitions.apply(tx, request, actor, None)
    entry = residents.correct(tx, card.id, after, actor, why, cited, at)
    eventlog.append_entries(tx, "resident", [entry])
    return Correction(value, changed, why, cited, entry["seq"], released)


def _check_fields(changes: Mapping[str, Any]) -> None:
    """Only fields a correction may change, each of its type."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise WorkflowError(
            _("cannot correct {fields}; expected some of: {correctable}").format(
                fields=", ".join(unknown), correctable=", ".join(CORRECTABLE)
            )
        )
    for name, value in changes.items():
        if value is not None and not isinstance(value, _TYPES[name]):
            expected = _(_TYPE_NAMES[name])
            raise WorkflowError(
                _("{field}: {value!r} is not {expected}").format(field=name, value=value, expected=expected)
            )


def _allowed(tx: Connection, lifecycle: Lifecycle, nik: str, card: Any, changed: dict[str, tuple[Any, Any]]) -> None:
    """What the card and its history say against the change."""
    if "kecamatan" in changed:
        _within_city(*changed["kecamatan"])
        if lifecycle.states[card.state].terminal:
            raise WorkflowError(
                _("the card of {nik} is {state}: the resident's kecamatan stays as it was then").format(
                    nik=nik, state=card.state
                )
            )
    if changed.get("had_ektp") == (True, False) and residents.became_holder(tx, card.id):
        raise WorkflowError(
            _(
                "the resident of {nik} collected an e-KTP here: had_ektp stays true (their next card is a replacement)"
            ).format(nik=nik)
        )
    if "birth_date" in changed:
        _still_of_age(tx, lifecycle, nik, changed["birth_date"][1])


def _corrected(nik: str, before: dict[str, Any], changes: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The resident's data with ``changes``, validated as a registration is."""
    merged = {**before, **{k: v for k, v in changes.items() if v is not None}}
    record = ResidentRecord(
        nik,
        merged["name"],
        merged["kecamatan"],
        bool(merged["had_ektp"]),
        merged["birth_date"],
        bool(merged["disaster_victim"]),
        bool(merged["suket"]),
    )
    return dict(validate_resident(record, today)._asdict())


def _within_city(old: str, new: str) -> None:
    """Both kecamatan codes (validated, dotted) lie in one kabupaten/kota."""
    city = old[:5]
    if new[:5] != city:
        raise WorkflowError(
            _(
                "kecamatan {kecamatan} is outside {name} ({code}), where the resident lives: "
                "a resident who moves to another kabupaten/kota leaves by move_out"
            ).format(kecamatan=new, name=name_of(city), code=city)
        )


def _still_of_age(tx: Connection, lifecycle: Lifecycle, nik: str, born: dt.date) -> None:
    """Every age guard the card passed holds at the new birth date."""
    guarded = {t.trigger for t in lifecycle.transitions if "age_at_least_16" in t.guards}
    for event in eventlog.of_card(tx, nik):
        if event.trigger in guarded and age_on(born, event.occurred_at.date()) < RECORDING_AGE:
            day = event.occurred_at.date()
            raise WorkflowError(
                _(
                    "born {born}, the resident was {age} when the card was {state} "
                    "on {day} (event {seq}, {trigger}); {trigger} requires {least}"
                ).format(
                    born=born.isoformat(),
                    age=age_on(born, day),
                    state=event.to_state,
                    day=day.isoformat(),
                    seq=event.seq,
                    trigger=event.trigger,
                    least=RECORDING_AGE,
                )
            )
