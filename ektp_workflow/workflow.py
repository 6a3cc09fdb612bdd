"""The workflow service: every state change is one transaction with exactly one event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .allocation import AllocationPlan, plan_allocation, plan_in_database, read_applicants, read_stock, record_run
from . import bulk, bulk_files, eventlog
from .audit import Auditor
from .blanks import Blanks
from .bulk import BulkResult
from .csvfiles import content_hash
from .clock import now
from .provenance import event_time, require_actor
from .database import (
    Driver, DriverStatement, check_schema, create_engine, default_url, reading, translate_errors, translated,
)
from .errors import (
    CardNotFound,
    ConcurrencyError,
    DatabaseBusy,
    IdempotencyConflict,
    InvalidTime,
    TransitionNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from .guards import CONNECTIONLESS_GUARDS, EFFECTS, GUARDS, FireContext
from .nik import lookup_key, parse_nik
from .records import (
    CARD_FROM,
    Card,
    Event,
    card_from_row,
    card_select,
    event_from_row,
    event_select,
)
from .regions import kecamatan_of
from .registration import Registration, register_residents
from .reports import Reports
from .residents import ResidentRecord
from .rules import store as rulestore
from .rules.book import RuleBook
from .rules.registry import available_rules
from .rules.ruleset import RuleSet
from .schema import cards, event_chain, events, residents
from .states import CardSubject, CompiledMachine, Lifecycle, load_lifecycle

@functools.cache
def default_lifecycle() -> Lifecycle:
    """The e-KTP lifecycle shipped with the package (``states/lifecycle.toml``)."""
    path = resources.files("ektp_workflow.states") / "lifecycle.toml"
    with resources.as_file(path) as file:
        return load_lifecycle(file, GUARDS, EFFECTS)


_machines: dict[str, CompiledMachine] = {}


def _machine_for(lifecycle: Lifecycle) -> CompiledMachine:
    # One Machine per lifecycle for the whole process, shared by every card.
    if lifecycle.hash not in _machines:
        _machines[lifecycle.hash] = CompiledMachine(lifecycle, GUARDS, EFFECTS)
    return _machines[lifecycle.hash]


@dataclass(frozen=True)
class FireRequest:
    """One transition to apply with ``Workflow.fire_many``."""

    nik: str
    trigger: str
    reason: str | None = None
    at: dt.datetime | None = None
    idempotency_key: str | None = None


class _LockedCard(NamedTuple):
    last_seq: int
    last_hash: str
    id: int
    state: str
    version: int
    updated_at: dt.datetime
    blank_batch_id: int | None
    kecamatan: str
    birth_date: dt.date


# Built once: constructing statements per call costs more than running them.
# The chain head and the card in one statement: the head is locked before the card, the
# order every writer keeps (no deadlocks), and a NIK without a card locks nothing.
_LOCK_HEAD_AND_CARD = DriverStatement(
    sa.select(
        event_chain.c.last_seq, event_chain.c.last_hash,
        cards.c.id, cards.c.state, cards.c.version, cards.c.updated_at, cards.c.blank_batch_id,
        residents.c.kecamatan, residents.c.birth_date,
    )
    .select_from(event_chain.join(CARD_FROM, sa.true()))
    .where(event_chain.c.id == 1, residents.c.nik == sa.bindparam("nik"))
    .with_for_update(of=[event_chain, cards])
)
_MOVE_CARD = (
    cards.update()
    .where(cards.c.id == sa.bindparam("card_id"), cards.c.version == sa.bindparam("old_version"))
    .values(
        state=sa.bindparam("state"), version=sa.bindparam("version"),
        updated_at=sa.bindparam("updated_at"),
    )
)


def _move_and_append() -> sa.Select[Any]:
    """For PostgreSQL: the card's UPDATE, its event's INSERT and the chain head's UPDATE as
    one statement (data-modifying CTEs), one round trip instead of three. Returns how many
    cards moved (0 or 1); when none did, nothing else is written either."""
    moved = _MOVE_CARD.returning(cards.c.id).cte("moved")
    values = [moved.c.id if c.name == "card_id" else sa.bindparam(c.name, type_=c.type) for c in events.columns]
    logged = (
        events.insert().from_select([c.name for c in events.columns], sa.select(*values))
        .returning(events.c.seq).cte("logged")
    )
    head = (
        event_chain.update()
        .where(event_chain.c.id == 1, sa.exists(sa.select(logged.c.seq)))
        .values(last_seq=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
        .cte("head")
    )
    return sa.select(sa.func.count()).select_from(moved).add_cte(head)


_MOVE_CARD_ONLY = DriverStatement(_MOVE_CARD)
_MOVE_AND_APPEND = DriverStatement(_move_and_append())


#: Attempts at a transaction that finds the database busy (SQLite locked, a deadlock).
BUSY_RETRIES = 4
T = TypeVar("T")



class Workflow:
    """The e-KTP workflow on one database.

    Open it on a URL or an Engine and each call is its own transaction; open it on
    a Connection and each call runs in a SAVEPOINT of the caller's transaction,
    which the caller commits or rolls back.
    """

    def __init__(self, bind: Engine | Connection, lifecycle: Lifecycle | None = None) -> None:
        """:raises SchemaError: the database schema is missing or out of date."""
        self.lifecycle = lifecycle or default_lifecycle()
        self._machine = _machine_for(self.lifecycle)
        self._engine = bind if isinstance(bind, Engine) else None
        self._connection = bind if isinstance(bind, Connection) else None
        self._owns_engine = False
        #: triggers ``fire`` runs on the driver alone (see ``_on_driver``).
        self._direct = _direct_triggers(self.lifecycle) if self._engine is not None else frozenset()
        #: the blank stock: receive, distribute, spoil, count.
        self.blanks = Blanks(self)
        #: the allocation rule sets: active, history, apply, rollback, diff.
        self.rules = RuleBook(self)
        #: the auditor's toolkit: checkpoint, verify, replay, compare, explain, export.
        self.audit = Auditor(self)
        #: coverage, backlog and aging per kecamatan.
        self.reports = Reports(self)
        with self._transaction() as conn:
            check_schema(conn)

    @classmethod
    def open(
        cls, target: str | sa.URL | Engine | Connection | None = None, lifecycle: Lifecycle | None = None
    ) -> Workflow:
        """Open the workflow on a URL (default ``EKTP_DATABASE_URL`` or ``sqlite:///ektp.db``),
        an Engine or a Connection."""
        if isinstance(target, Engine | Connection):
            return cls(target, lifecycle)
        engine = create_engine(target or default_url())
        try:
            workflow = cls(engine, lifecycle)
        except BaseException:
            engine.dispose()
            raise
        workflow._owns_engine = True
        return workflow

    def close(self) -> None:
        """Release the engine if this workflow created it."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, read_only: bool = False) -> Iterator[Connection]:
        """One transaction, or a SAVEPOINT in the caller's; ``read_only``: one snapshot, no write lock."""
        with translate_errors("database error"):
            if self._connection is not None:
                with self._connection.begin_nested():
                    yield self._connection
                return
            assert self._engine is not None  # one of the two is always set
            with self._engine.connect() as plain:
                conn = reading(plain) if read_only else plain
                db, committed = Driver.of(conn), False
                eventlog.transaction_started(db)
                try:
                    with conn.begin():
                        yield conn
                    committed = True
                finally:
                    eventlog.transaction_ended(db, committed)

    def _retrying(self, work: Callable[[Any], T], on_driver: bool = False) -> T:
        """Run ``work`` in a transaction; if the database was busy, try again (a few times).

        Only on a workflow that owns its transactions: a caller's transaction that
        failed is the caller's to retry.

        :param on_driver: ``work`` takes a ``Driver`` (see ``_on_driver``), not a Connection.
        """
        for attempt in range(BUSY_RETRIES):
            try:
                if on_driver:
                    return self._on_driver(work)
                with self._transaction() as conn:
                    return work(conn)
            except DatabaseBusy:
                if self._connection is not None or attempt == BUSY_RETRIES - 1:
                    raise
                time.sleep(0.05 * 4**attempt)
        raise AssertionError("unreachable")

    def _on_driver(self, work: Callable[[Driver], T]) -> T:
        """Run ``work`` in a transaction on a pooled driver connection, without a SQLAlchemy
        Connection: for single transitions, where SQLAlchemy's own work would cost more
        than the database's. (Plain try blocks, no context managers: this runs per fire.)"""
        assert self._engine is not None  # only on a workflow that owns its transactions
        try:
            pooled = self._engine.raw_connection()
            try:
                db, committed = Driver(pooled.driver_connection, self._engine.dialect, pooled.info), False
                eventlog.transaction_started(db)
                try:
                    db.begin()
                    result = work(db)
                    db.commit()
                    committed = True
                    return result
                except sa.exc.DBAPIError as err:
                    orig: Any = err.orig
                    if self._engine.dialect.is_disconnect(orig, pooled.dbapi_connection, None):
                        pooled.invalidate(err)  # a dead connection does not go back to the pool
                    else:
                        db.rollback()
                    raise
                except BaseException:
                    db.rollback()
                    raise
                finally:
                    eventlog.transaction_ended(db, committed)
            finally:
                pooled.close()
        except sa.exc.OperationalError as err:
            raise translated(err, "database error") from err

    def _reading(self) -> Any:
        """A read-only transaction with one consistent snapshot (for audits and exports)."""
        return self._transaction(read_only=True)

    def _scratch(self) -> Any:
        """A transaction that writes temporary tables only: on SQLite it takes no write lock."""
        bind = self._engine if self._engine is not None else self._connection
        assert bind is not None
        return self._transaction(read_only=bind.dialect.name == "sqlite")

    # -- changes ---------------------------------------------------------------

    def register(
        self,
        records: Iterable[ResidentRecord],
        *,
        actor: str,
        at: dt.datetime | None = None,
        source: str = "residents",
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
    ) -> Registration:
        """``register`` for records that carry their own line numbers (as a file's rows).

        :param dry_run: check everything and report what would be added; write nothing.
        :param progress: called with the number of records handled, chunk by chunk.
        """
        actor, when = require_actor(actor), event_time(at)
        try:
            with self._transaction() as conn:
                result = register_residents(conn, numbered, actor, when, self.lifecycle, source, progress)
                if dry_run:
                    raise _RollBack(result)
        except _RollBack as rolled_back:
            return rolled_back.result
        return result

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
        request = FireRequest(nik, trigger, reason, at, idempotency_key)
        actor = require_actor(actor)
        if idempotency_key is not None and (done := self._event_for_key(request)):
            return done
        try:
            if trigger in self._direct:
                written = self._retrying(lambda db: self._move(db, None, request, actor, expected_version), on_driver=True)
            else:
                written = self._retrying(lambda conn: self._apply(conn, request, actor, expected_version))
        except (WorkflowError, sa.exc.IntegrityError) as err:
            # A retry racing its own first attempt: that one won, so return its result.
            if idempotency_key is not None and (done := self._event_for_key(request)):
                return done
            if isinstance(err, WorkflowError):
                raise
            raise ConcurrencyError(nik, expected_version or 0, None) from err
        return written

    def fire_many(self, requests: Iterable[FireRequest], *, actor: str) -> int:
        """Apply many transitions in one transaction: all of them or none.

        Requests whose idempotency key was already used are skipped.
        :returns: how many transitions were applied.
        """
        actor = require_actor(actor)
        applied = 0
        with self._transaction() as conn:
            for request in requests:
                if request.idempotency_key is not None and self._event_for_key(request, conn):
                    continue
                self._apply(conn, request, actor, None)
                applied += 1
        return applied

    def _apply(
        self,
        conn: Connection,
        request: FireRequest,
        actor: str,
        expected_version: int | None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Event:
        return self._move(Driver.of(conn), conn, request, actor, expected_version, provenance)

    def _move(
        self,
        db: Driver,
        conn: Connection | None,
        request: FireRequest,
        actor: str,
        expected_version: int | None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Event:
        """Fire one transition in the transaction of ``db``; ``conn`` is its Connection, for
        guards and effects that use one (None on the direct path, which runs none)."""
        nik = lookup_key(request.nik)
        found = _LOCK_HEAD_AND_CARD.first(db, {"nik": nik})
        if found is None:
            raise CardNotFound(parse_nik(nik).value)  # or InvalidNIK, saying what is wrong
        row = _LockedCard._make(found)
        if expected_version is not None and row.version != expected_version:
            raise ConcurrencyError(nik, expected_version, row.version)
        at = event_time(request.at)
        written = at if request.at is None else now()  # one clock reading when it happens now
        if at < row.updated_at:
            raise InvalidTime(
                f"card {nik}: event time {at.isoformat()} is before its last event "
                f"({row.updated_at.isoformat()})"
            )
        new_state = self._machine.plain_destination(row.state, request.trigger)
        if new_state is None:  # guards or effects to run (or a refusal to explain)
            context = FireContext(
                conn, row.id, nik, row.kecamatan, row.birth_date, request.trigger,
                row.version + 1, actor, request.reason, at, row.blank_batch_id,
            )
            new_state = self._machine.fire(CardSubject(row.state, context), request.trigger)
        event = {
            "card_id": row.id, "version": row.version + 1, "trigger": request.trigger,
            "from_state": row.state, "to_state": new_state, "actor": actor,
            "reason": request.reason, "occurred_at": at, "lifecycle_hash": self.lifecycle.hash,
            "idempotency_key": request.idempotency_key, "rule_set_version": None, "batch_id": None,
            **(provenance or {}),
        }
        move = {"card_id": row.id, "old_version": row.version, "state": new_state, "updated_at": at}
        if db.dialect.name == "postgresql":
            eventlog.remember_lifecycle(db, self.lifecycle)
            eventlog.chain([event], row.last_seq, row.last_hash, written)
            # on the direct path it commits with the move, unless this transaction stored the
            # lifecycle: a fire refused after it (the card moved meanwhile) must leave nothing
            last = conn is None and not eventlog.stored_lifecycle(db)
            moved = _MOVE_AND_APPEND.first(db, {**event, **move}, commit=last)[0]  # type: ignore[index]
        else:
            moved = _MOVE_CARD_ONLY.rowcount(db, {**move, "version": row.version + 1})
            if moved == 1:
                eventlog.append(db, [event], self.lifecycle, (row.last_seq, row.last_hash), written)
        if moved != 1:  # the card is locked: only a writer that ignores the lock gets here
            raise ConcurrencyError(nik, row.version, None)
        occurred = at.astimezone(dt.timezone.utc)
        return Event(
            event["seq"], nik, event["version"], event["trigger"], event["from_state"], event["to_state"],
            actor, event["reason"], occurred, occurred if written is at else written.astimezone(dt.timezone.utc),
            event["lifecycle_hash"], event["idempotency_key"], event["rule_set_version"], event["batch_id"],
        )

    def _event_for_key(self, request: FireRequest, conn: Connection | None = None) -> Event | None:
        query = event_select().where(events.c.idempotency_key == request.idempotency_key)
        if conn is None:
            with self._transaction() as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None:
            return None
        event = event_from_row(row)
        if (event.nik, event.trigger) != (request.nik.strip(), request.trigger):
            raise IdempotencyConflict(
                str(request.idempotency_key),
                f"{event.trigger} on {event.nik}",
                f"{request.trigger} on {request.nik}",
            )
        return event

    # -- allocation ------------------------------------------------------------

    def plan_allocation(
        self, *, kecamatan: str | None = None, rule_set: RuleSet | None = None, day: dt.date | None = None
    ) -> AllocationPlan:
        """Who would get a blank now, under the active rule set or ``rule_set``; writes nothing.

        Read in one snapshot, so that the chosen and the counts left waiting agree.
        """
        with self._reading() as conn:
            return self._plan(conn, kecamatan, rule_set, day or now().date())

    def allocate(self, *, actor: str, kecamatan: str | None = None, dry_run: bool = False) -> AllocationPlan:
        """Reserve each kecamatan's unreserved blanks for its queue, in the active rules' order.

        One transaction: ``allocate`` fires on every chosen card, each event recording
        the rule-set version and the run id. ``dry_run`` plans and writes nothing.

        :raises TransitionNotAllowed: a card changed between planning and writing
            (nothing is written; run it again).
        """
        actor = require_actor(actor)
        if dry_run:
            return self.plan_allocation(kecamatan=kecamatan)

        def work(conn: Connection) -> AllocationPlan:
            eventlog.lock_head(conn)  # one run at a time, and a plan nobody changes under it
            plan = self._plan(conn, kecamatan, None, now().date())
            run_id = f"allocation-{uuid.uuid4().hex[:12]}"
            record_run(conn, run_id, plan, kecamatan and kecamatan_of(kecamatan).code, actor, now())
            provenance = {"rule_set_version": plan.rule_set_version, "batch_id": run_id}
            reason = f"allocation under rule set version {plan.rule_set_version}"
            for applicant in plan.chosen():
                self._apply(conn, FireRequest(applicant.nik, "allocate", reason), actor, None, provenance)
            return dataclasses.replace(plan, run_id=run_id)

        return self._retrying(work)

    def _plan(
        self, conn: Connection, kecamatan: str | None, rule_set: RuleSet | None, day: dt.date
    ) -> AllocationPlan:
        code = kecamatan_of(kecamatan).code if kecamatan is not None else None
        stored = rulestore.active(conn)
        chosen = rule_set or stored.rule_set
        version = stored.version if rule_set is None else 0
        rules = [q.instantiate(available_rules()) for q in chosen.queue]
        return plan_in_database(conn, code, rules, day, version, chosen.hash) or plan_allocation(
            read_applicants(conn, code), read_stock(conn, code), rules, day, version, chosen.hash
        )

    # -- bulk ------------------------------------------------------------------

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
        actor, when = require_actor(actor), event_time(at)
        bulk.refuse_allocate(trigger)
        if trigger not in self.lifecycle.triggers:
            raise UnknownTrigger(trigger, self.lifecycle.triggers)
        if (where_state is None) == (niks_file is None):
            raise WorkflowError("say which cards: a state (where_state) or a file of NIKs, not both")
        if niks_file is not None:
            read = bulk_files.nik_list(niks_file, trigger, reason)
            job = bulk.job_id_for("bulk", f"{trigger}:{content_hash(niks_file)}".encode())
            return self._bulk_targets(job, niks_file, read, None, actor, when, dry_run, progress)
        return self._bulk_state(trigger, str(where_state), kecamatan, limit, reason, actor, when, dry_run, progress)

    def import_central_results(
        self, path: str | Path, *, actor: str, dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> BulkResult:
        """Apply the centre's results ``nik,result[,reference]`` to cards in ``prr``.

        ``single``, ``duplicate`` and ``enroll_failure`` fire ``confirm_single``,
        ``flag_duplicate`` and ``reject_enrollment``. Rows for cards not in ``prr`` are
        reported, not applied; importing the same file again applies nothing twice.

        :raises InputFileError: the file has bad lines (nothing is applied).
        """
        actor = require_actor(actor)
        job = bulk.job_id_for("central", content_hash(path).encode())
        read = bulk_files.central_results(path)
        return self._bulk_targets(job, path, read, bulk_files.CENTRAL_STATE, actor, now(), dry_run, progress)

    def _bulk_state(
        self, trigger: str, state: str, kecamatan: str | None, limit: int | None, reason: str | None,
        actor: str, at: dt.datetime, dry_run: bool, progress: Callable[[int], None] | None,
    ) -> BulkResult:
        if self.lifecycle.transition(state, trigger) is None:
            raise TransitionNotAllowed(trigger, state, self.lifecycle.triggers_from(state))
        code = kecamatan_of(kecamatan).code if kecamatan else None
        selection = {"trigger": trigger, "state": state, "kecamatan": code, "limit": limit}
        with self._transaction() as conn:
            job = bulk.running_job(conn, selection) or bulk.new_state_job_id()
            resumed = False if dry_run else bulk.start_job(conn, job, trigger, selection, actor)
            done = bulk.count_done(conn, job)
        result = bulk.BulkResult(job, dry_run, done_before=done, resumed=resumed)
        remaining, after = (None if limit is None else max(0, limit - done)), 0
        while remaining is None or remaining > 0:
            size = bulk.CHUNK if remaining is None else min(bulk.CHUNK, remaining)
            def chunk(
                conn: Connection, after: int = after, size: int = size
            ) -> tuple[list[bulk.LockedCard], BulkResult]:
                part = bulk.BulkResult(job, dry_run)
                eventlog.lock_head(conn)
                found = bulk.cards_in_state(conn, state, code, after, size)
                # one target for the chunk: moving a card reads its trigger and reason, not its NIK
                targets = zip(found, itertools.repeat(bulk.Target("", trigger, reason)))
                bulk.ChunkMover(conn, self.lifecycle, actor, at, job).move(targets, part, dry_run)
                return found, part

            rows, part = self._retrying(chunk)
            if not rows:
                break
            result.merge(part)
            after = rows[-1].id
            remaining = None if remaining is None else remaining - part.total_applied
            if progress is not None:
                progress(len(rows))
        return self._finish(result)

    def _bulk_targets(
        self, job: str, path: str | Path, read: bulk_files.Reader, required_state: str | None,
        actor: str, at: dt.datetime, dry_run: bool, progress: Callable[[int], None] | None,
    ) -> BulkResult:
        with self._scratch() as conn:
            bulk_files.check(conn, path, read)
        result = bulk.BulkResult(job, dry_run)
        if not dry_run:
            with self._transaction() as conn:
                result.resumed = bulk.start_job(conn, job, "file", {"file": str(path)}, actor)
        for chunk in bulk.chunks(read()):
            targets = [t for _, t in chunk]

            def move(conn: Connection, targets: list[bulk.Target] = targets) -> BulkResult:
                part = bulk.BulkResult(job, dry_run)
                eventlog.lock_head(conn)
                planned = self._planned(conn, job, targets, required_state, part)
                bulk.ChunkMover(conn, self.lifecycle, actor, at, job).move(planned, part, dry_run)
                return part

            result.merge(self._retrying(move))
            if progress is not None:
                progress(len(chunk))
        return self._finish(result)

    def _planned(
        self, conn: Connection, job: str, targets: list[bulk.Target], required_state: str | None,
        result: bulk.BulkResult,
    ) -> list[tuple[bulk.LockedCard, bulk.Target]]:
        niks = [parse_nik(t.nik).value for t in targets]  # the file was checked: all parse
        found = bulk.cards_for(conn, niks)
        done = bulk.moved_by(conn, job, [card.id for card in found.values()])
        planned = []
        for nik, target in zip(niks, targets):
            card = found.get(nik)
            if card is None:
                result.skip(target.nik, "no card registered for this NIK")
            elif card.id in done:
                result.done_before += 1
            elif required_state is not None and card.state != required_state:
                result.skip(card.nik, f"not in {required_state} (it is {card.state}): not applied")
            else:
                planned.append((card, target))
        return planned

    def _finish(self, result: BulkResult) -> BulkResult:
        if not result.dry_run:
            with self._transaction() as conn:
                bulk.finish_job(conn, result.job_id, result.total_applied)
        return result

    # -- reads -----------------------------------------------------------------

    def card(self, nik: str) -> Card:
        """The card of ``nik``.

        :raises InvalidNIK: the NIK is malformed.
        :raises CardNotFound: no card is registered for it.
        """
        value = parse_nik(nik).value
        with self._transaction() as conn:
            row = conn.execute(card_select().where(residents.c.nik == value)).first()
        if row is None:
            raise CardNotFound(value)
        return card_from_row(row)

    def history(self, nik: str) -> list[Event]:
        """Every event of the card of ``nik``, oldest first."""
        card = self.card(nik)
        with self._transaction() as conn:
            rows = conn.execute(event_select().where(residents.c.nik == card.nik)).all()
        return [event_from_row(r) for r in rows]

    def cards(
        self, *, state: str | None = None, kecamatan: str | None = None,
        after_nik: str | None = None, limit: int = 100,
    ) -> list[Card]:
        """Cards by state and current kecamatan, in NIK order; page with ``after_nik``.

        :raises WorkflowError: the state is not part of the lifecycle.
        """
        query = card_select().order_by(residents.c.nik).limit(limit)
        if state is not None:
            if state not in self.lifecycle.states:
                raise WorkflowError(
                    f"unknown state {state!r}; expected one of: {', '.join(self.lifecycle.states)}"
                )
            query = query.where(cards.c.state == state)
        if kecamatan is not None:
            query = query.where(residents.c.kecamatan == kecamatan_of(kecamatan).code)
        if after_nik is not None:
            query = query.where(residents.c.nik > after_nik)
        with self._transaction() as conn:
            return [card_from_row(r) for r in conn.execute(query)]

    def events_after(self, seq: int = 0, limit: int = 1000) -> list[Event]:
        """Events with a sequence number above ``seq``, in order: the feed to consume."""
        query = event_select().where(events.c.seq > seq).limit(limit)
        with self._transaction() as conn:
            return [event_from_row(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of cards per current kecamatan and state."""
        query = (
            sa.select(residents.c.kecamatan, cards.c.state, sa.func.count())
            .select_from(CARD_FROM)
            .group_by(residents.c.kecamatan, cards.c.state)
            .order_by(residents.c.kecamatan, cards.c.state)
        )
        result: dict[str, dict[str, int]] = {}
        with self._transaction() as conn:
            for kecamatan, state, count in conn.execute(query):
                result.setdefault(kecamatan, {})[state] = count
        return result


def _direct_triggers(lifecycle: Lifecycle) -> frozenset[str]:
    """The triggers all of whose transitions have no effects and only guards that use
    no database connection: ``fire`` runs them on the driver's connection alone."""
    needs_connection = {
        t.trigger for t in lifecycle.transitions if t.effects or not set(t.guards) <= CONNECTIONLESS_GUARDS
    }
    return frozenset(lifecycle.triggers) - needs_connection


class _RollBack(Exception):
    """Leaves a transaction without committing, carrying what it computed."""

    def __init__(self, result: Registration) -> None:
        self.result = result


