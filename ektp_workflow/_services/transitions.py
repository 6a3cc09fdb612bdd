"""Single transitions: every state change is one transaction with exactly one event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from .._provenance import event_time, require_actor
from .._store import cards, eventlog
from .._store.cards import LockedCard
from .._store.driver import Driver
from .._store.store import Connection, Store, Tx
from ..clock import now
from ..errors import (
    CardNotFound,
    ConcurrencyError,
    IdempotencyConflict,
    InvalidTime,
    WorkflowError,
    WriteConflict,
)
from ..i18n import _
from ..nik import lookup_key, parse_nik
from ..records import Event, FireRequest
from ..states import Lifecycle
from ..text import free
from .lifecycle import FireContext, driver_triggers, executor_for, joins_queue


class Transitions:
    """Fires triggers on cards, one or many per transaction, under one lifecycle."""

    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self._store = store
        self.lifecycle = lifecycle
        self._executor = executor_for(lifecycle)
        #: triggers ``fire`` runs on the driver alone (see ``Store.on_driver``).
        self.on_driver = driver_triggers(lifecycle) if store.owns_transactions else frozenset()

    def fire(
        self,
        nik: str,
        trigger: str,
        *,
        actor: str,
        reason: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        at: dt.datetime | None = None,
    ) -> Event:
        """See ``Workflow.fire``."""
        request = FireRequest(nik, trigger, reason, at, idempotency_key)
        actor = require_actor(actor)
        if idempotency_key is not None and (done := self._event_for_key(request)):
            return done
        try:
            if trigger in self.on_driver:
                return self._store.on_driver(lambda db: self._move(db, db, request, actor, expected_version))
            return self._store.retrying(lambda tx: self.apply(tx, request, actor, expected_version))
        except WorkflowError as err:
            # A retry racing its own first attempt: that one won, so return its result.
            if idempotency_key is not None and (done := self._event_for_key(request)):
                return done
            if isinstance(err, WriteConflict):
                raise ConcurrencyError(nik, expected_version or 0, None) from err
            raise

    def fire_many(self, requests: Iterable[FireRequest], *, actor: str) -> int:
        """See ``Workflow.fire_many``."""
        actor = require_actor(actor)
        applied = 0
        with self._store.transaction() as tx:
            for request in requests:
                if request.idempotency_key is not None and self._event_for_key(request, tx):
                    continue
                self.apply(tx, request, actor, None)
                applied += 1
        return applied

    def apply(
        self,
        tx: Tx,
        request: FireRequest,
        actor: str,
        expected_version: int | None,
        rule_set_version: int | None = None,
        batch_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        """Fire one transition in the transaction ``tx``; the event records the rule-set
        version and the run, where a rule or a run decided; ``details`` are what its guards
        and effects read beyond the reason (``FireContext.details``)."""
        return self._move(Driver.of(tx), tx, request, actor, expected_version, rule_set_version, batch_id, details)

    def _move(
        self,
        db: Driver,
        tx: Tx,
        request: FireRequest,
        actor: str,
        expected_version: int | None,
        rule_set_version: int | None = None,
        batch_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        """Fire one transition in the transaction of ``db``; ``tx`` is its handle for guards
        and effects (``db`` itself on the driver path, which runs none that use the database)."""
        nik = lookup_key(request.nik)
        free(request.reason, _("reason"))
        locked = cards.lock_for_transition(db, nik)
        if locked is None:
            eventlog.head(db)  # HeadMissing if it is the head, not the card, that is not there
            raise CardNotFound(parse_nik(nik).value)  # or InvalidNIK, saying what is wrong
        head, card = locked
        at, written = _checked_times(nik, card, request, expected_version)
        step = self._executor.step(card.state, request.trigger)
        context = None
        if not step.plain:
            context = FireContext(tx, card, request.trigger, actor, request.reason, at, details=details or {})
            step.run(context)
        event = eventlog.event_row(
            card.id,
            card.version + 1,
            request.trigger,
            card.state,
            step.dest,
            actor,
            request.reason,
            at,
            self.lifecycle.hash,
            request.idempotency_key,
            rule_set_version,
            batch_id,
        )
        entries = context.entries if context is not None else ()
        eventlog.move_card_and_append(
            db, nik, card.version, event, self.lifecycle, head, written, tx is db, entries, joins_queue(step)
        )
        return eventlog.written(event, nik)

    def _event_for_key(self, request: FireRequest, tx: Connection | None = None) -> Event | None:
        key = str(request.idempotency_key)
        if tx is None:
            with self._store.transaction() as own:
                event = eventlog.with_key(own, key)
        else:
            event = eventlog.with_key(tx, key)
        if event is None:
            return None
        if (event.nik, event.trigger) != (request.nik.strip(), request.trigger):
            on = _("{trigger} on {nik}")
            recorded = on.format(trigger=event.trigger, nik=event.nik)
            raise IdempotencyConflict(key, recorded, on.format(trigger=request.trigger, nik=request.nik))
        return event


def _checked_times(
    nik: str, card: LockedCard, request: FireRequest, expected_version: int | None
) -> tuple[dt.datetime, dt.datetime]:
    """When the event happened and when it is written (one clock reading when it happens now).

    :raises ConcurrencyError: the card is not at ``expected_version``.
    :raises InvalidTime: the event would happen before the card's last one, or in the future.
    """
    if expected_version is not None and card.version != expected_version:
        raise ConcurrencyError(nik, expected_version, card.version)
    at = event_time(request.at)
    if at < card.updated_at:
        raise InvalidTime(
            _("card {nik}: event time {at} is before its last event ({last})").format(
                nik=nik, at=at.isoformat(), last=card.updated_at.isoformat()
            )
        )
    return at, at if request.at is None else now()
