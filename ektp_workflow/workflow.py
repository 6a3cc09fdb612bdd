"""The workflow facade: opens the Store, builds the services, and delegates to them.

Every method is one line: what it does is in the service named beside it. A service
is built (and its modules loaded) the first time it is used, so that a command that
reads one card does not load the allocation planner, the auditor or the reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._reading import Reading
from ._services.lifecycle import default_lifecycle
from ._store.store import Store

if TYPE_CHECKING:
    from sqlalchemy import URL
    from sqlalchemy.engine import Connection, Engine

    from ._audit.auditor import Auditor
    from ._services.blanks import Blanks
    from ._services.bulk import BulkJobs
    from ._services.printing import Reprint
    from ._services.replacements import Replacement
    from ._services.reports import Reports
    from ._services.rulebook import RuleBook
    from ._services.transitions import Transitions
    from .records import BulkResult, Correction, Event, FireRequest, Registration, ResidentRecord
    from .rules.planner import AllocationPlan
    from .rules.ruleset import RuleSet
    from .states import Lifecycle


class Workflow(Reading):
    """The e-KTP workflow on one database.

    Open it on a URL or an Engine and each call is its own transaction; open it on
    a Connection and each call runs in a SAVEPOINT of the caller's transaction,
    which the caller commits or rolls back.
    """

    def __init__(self, bind: Engine | Connection | Store, lifecycle: Lifecycle | None = None) -> None:
        """:raises SchemaError: the database schema is missing or out of date."""
        self._store = bind if isinstance(bind, Store) else Store(bind)
        #: the lifecycle every card follows (default: the shipped one).
        self.lifecycle = lifecycle or default_lifecycle()
        self._store.check_schema()

    @cached_property
    def blanks(self) -> Blanks:
        """The blank stock: receive, distribute, spoil, count."""
        from ._services.blanks import Blanks

        return Blanks(self._store)

    @cached_property
    def rules(self) -> RuleBook:
        """The allocation rule sets: active, history, apply, rollback, diff."""
        from ._services.rulebook import RuleBook

        return RuleBook(self._store)

    @cached_property
    def audit(self) -> Auditor:
        """The auditor's toolkit: checkpoint, verify, replay, compare, explain, export."""
        from ._audit.auditor import Auditor

        return Auditor(self._store)

    @cached_property
    def reports(self) -> Reports:
        """Coverage, backlog and aging per kecamatan, and the HTML page."""
        from ._services.reports import Reports

        return Reports(self._store, self.lifecycle)

    @cached_property
    def _transitions(self) -> Transitions:
        from ._services.transitions import Transitions

        return Transitions(self._store, self.lifecycle)

    @cached_property
    def _bulk(self) -> BulkJobs:
        from ._services.bulk import BulkJobs

        return BulkJobs(self._store, self.lifecycle)

    @classmethod
    def open(
        cls, target: str | URL | Engine | Connection | None = None, lifecycle: Lifecycle | None = None
    ) -> Workflow:
        """Open the workflow on a URL (default ``EKTP_DATABASE_URL`` or ``sqlite:///ektp.db``;
        a SQLite file must exist already), an Engine or a Connection."""
        store = Store.open(target)
        try:
            return cls(store, lifecycle)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        """Release the engine if this workflow created it."""
        self._store.close()

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- changes ---------------------------------------------------------------

    def register(
        self, records: Iterable[ResidentRecord], *, actor: str, at: dt.datetime | None = None, source: str = "residents"
    ) -> Registration:
        """Register residents, each with a card in the initial state; all or nothing.

        Residents already registered with the same data are left as they are.

        :raises InputFileError: listing the bad records (numbered from 1; the first 1,000) and
            their count; nothing written.
        """
        return self.register_numbered(enumerate(records, 1), actor=actor, at=at, source=source)

    def register_numbered(
        self,
        numbered: Iterable[tuple[int, Any]],
        *,
        actor: str,
        at: dt.datetime | None = None,
        source: str = "residents",
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
        update: bool = False,
    ) -> Registration:
        """``register`` for records that carry their own line numbers (as a file's rows).

        :param dry_run: check everything and report what would be added; write nothing.
        :param progress: called with the number of records handled, chunk by chunk.
        :param update: a resident registered with other data is corrected (``correct``,
            reason ``line N of FILE``) in the fields the record gives, instead of refused.
        """
        from ._services import registration

        return registration.register(
            self._store,
            self.lifecycle,
            numbered,
            actor=actor,
            at=at,
            source=source,
            dry_run=dry_run,
            progress=progress,
            update=update,
        )

    def correct(
        self,
        nik: str,
        *,
        actor: str,
        reason: str,
        evidence: str | None = None,
        name: str | None = None,
        birth_date: dt.date | None = None,
        kecamatan: str | None = None,
        had_ektp: bool | None = None,
        disaster_victim: bool | None = None,
        suket: bool | None = None,
        at: dt.datetime | None = None,
        dry_run: bool = False,
    ) -> Correction:
        """Correct the data of the resident of ``nik`` (only the fields given): one
        transaction, one chained resident entry with every field after, reason and evidence.

        A kecamatan (within the same kabupaten/kota) moves the card's queue row, and a
        blank reserved at the old kecamatan is released by the ``release`` trigger in the
        same transaction. A birth date must agree with the NIK's digits (so it settles the
        century) and with every age guard the card passed.

        :param evidence: the document the correction rests on (a KK, a court order, a
            birth certificate number).
        :raises WorkflowError: no reason, nothing that changes, data the NIK contradicts,
            a kecamatan outside the city, a guard the new birth date fails.
        :raises CardNotFound: no resident has this NIK.
        """
        from ._services import corrections

        changes = {"name": name, "birth_date": birth_date, "kecamatan": kecamatan, "had_ektp": had_ektp}
        changes.update(disaster_victim=disaster_victim, suket=suket)
        return corrections.correct(
            self._store,
            self.lifecycle,
            nik,
            {k: v for k, v in changes.items() if v is not None},
            actor=actor,
            reason=reason,
            evidence=evidence,
            at=at,
            dry_run=dry_run,
        )

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
        """Fire ``trigger`` on the card of ``nik``: one transaction, exactly one event.

        :param idempotency_key: a retry with the same key applies nothing and returns
            the event the first call wrote.
        :param expected_version: the version the caller read; a different one raises
            ``ConcurrencyError``.
        :param at: when it happened (timezone-aware); default now.
        :raises TransitionNotAllowed: not allowed from the card's state
            (``GuardFailed`` when a guard refused).
        :raises ConcurrencyError: the card changed since ``expected_version``.
        """
        return self._transitions.fire(
            nik,
            trigger,
            actor=actor,
            reason=reason,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            at=at,
        )

    def reprint(
        self,
        nik: str,
        *,
        actor: str,
        reason: str,
        at: dt.datetime | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Reprint:
        """The blank was spoiled printing the card of ``nik`` (allocated or printed): one
        transaction, one event. The blank is recorded spoiled against the card, and the
        card gets the next unreserved blank at its kecamatan (``reprint``) or, with none in
        stock, waits for the next in the place it had in the queue (``requeue``).

        :param idempotency_key: a retry with the same key spoils nothing more and returns
            what the first call did.
        :param expected_version: the version the caller read; a card changed since (a
            reprint recorded by someone else) raises ``ConcurrencyError``.
        :raises WorkflowError: no reason. :raises TransitionNotAllowed: the card is neither
            allocated nor printed.
        """
        from ._services import printing

        return printing.reprint(
            self._store,
            self._transitions,
            nik,
            actor=actor,
            reason=reason,
            at=at,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            dry_run=dry_run,
        )

    def replace(
        self,
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
        """The resident of ``nik`` (their card collected) needs another card, and why:
        ``lost`` (``reference``: the police report), ``damaged`` (``surrendered``: the old
        card handed in; ``reference``: its receipt, if any) or ``data_change``
        (``correction``: the seq of the correction that caused it, default the resident's
        latest). One transaction: the ``replace`` event, then its chained replacement entry.

        :raises WorkflowError: an unknown category, or what it rests on missing.
        :raises TransitionNotAllowed: the card is not collected.
        """
        from ._services import replacements

        return replacements.replace(
            self._store,
            self._transitions,
            nik,
            category,
            actor=actor,
            reference=reference,
            surrendered=surrendered,
            correction=correction,
            reason=reason,
            at=at,
            dry_run=dry_run,
        )

    def fire_many(self, requests: Iterable[FireRequest], *, actor: str) -> int:
        """Apply many transitions in one transaction: all of them or none.

        Requests whose idempotency key was already used are skipped.
        :returns: how many transitions were applied.
        """
        return self._transitions.fire_many(requests, actor=actor)

    def plan_allocation(
        self, *, kecamatan: str | None = None, rule_set: RuleSet | None = None, day: dt.date | None = None
    ) -> AllocationPlan:
        """Who would get a blank now, under the active rule set or ``rule_set``; writes nothing."""
        from ._services import allocation

        return allocation.plan(self._store, kecamatan=kecamatan, rule_set=rule_set, day=day)

    def allocate(
        self,
        *,
        actor: str,
        kecamatan: str | None = None,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> AllocationPlan:
        """Reserve each kecamatan's unreserved blanks for its queue in the active rules' order:
        the plan recorded, then ``allocate`` fired chunk by chunk (``progress`` told each), so
        writers wait a chunk at most; cards that left the queue meanwhile are skipped
        (``plan.skipped``); the next call finishes an interrupted run (``plan.resumed``)."""
        from ._services import allocation

        return allocation.allocate(
            self._store, self.lifecycle, actor=actor, kecamatan=kecamatan, dry_run=dry_run, progress=progress
        )

    def bulk_fire(
        self,
        trigger: str,
        *,
        actor: str,
        where_state: str | None = None,
        kecamatan: str | None = None,
        limit: int | None = None,
        niks_file: str | Path | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        at: dt.datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> BulkResult:
        """Fire ``trigger`` on many cards, chunk by chunk: those in ``where_state`` (optionally
        in one kecamatan, at most ``limit``), or those listed in ``niks_file`` (a ``nik``
        column, optional ``reason``).

        Each chunk is one transaction; the same command run again after an interruption
        resumes the job and moves no card twice. Cards a guard refuses, or not in a state
        the trigger fires from, are skipped and counted.

        :raises InputFileError: the file has bad lines (nothing is applied).
        :raises TransitionNotAllowed: ``trigger`` never fires from ``where_state``.
        """
        return self._bulk.fire(
            trigger,
            actor=actor,
            where_state=where_state,
            kecamatan=kecamatan,
            limit=limit,
            niks_file=niks_file,
            reason=reason,
            dry_run=dry_run,
            at=at,
            progress=progress,
        )

    def import_central_results(
        self, path: str | Path, *, actor: str, dry_run: bool = False, progress: Callable[[int], None] | None = None
    ) -> BulkResult:
        """Apply the centre's results ``nik,result[,reference]`` to cards in ``prr``.

        ``single``, ``duplicate`` and ``enroll_failure`` fire ``confirm_single``,
        ``flag_duplicate`` and ``reject_enrollment``. Rows for cards not in ``prr`` are
        reported, not applied; importing the same file again applies nothing twice.

        :raises InputFileError: the file has bad lines (nothing is applied).
        """
        return self._bulk.central_results(path, actor=actor, dry_run=dry_run, progress=progress)
