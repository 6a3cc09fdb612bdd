"""Single transitions run on the driver's connection: the same rows, the same errors, all or nothing.

``Workflow.fire`` runs triggers without database guards or effects on a pooled driver
connection (no SQLAlchemy Connection); ``fire_many`` and a workflow opened on a
caller's Connection run the same steps through SQLAlchemy. These tests hold the two to
the same result.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from ektp_workflow import FireRequest, Workflow, create_engine
from ektp_workflow._services.lifecycle import default_lifecycle, driver_triggers
from ektp_workflow._store import driver, eventlog, roundtrips
from ektp_workflow._store import engine as engines
from ektp_workflow._store.cards import _LOCK_HEAD_AND_CARD
from ektp_workflow._store.schema import UTCDateTime, events, residents
from ektp_workflow.errors import DatabaseBusy, DatabaseError, TransitionNotAllowed

from .conftest import snapshot
from .factories import make_resident

ACTOR = "kec-05/operator-1"
AT = dt.datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def registered(workflow: Workflow, count: int) -> list[str]:
    people = [make_resident() for _ in range(count)]
    workflow.register(people, actor=ACTOR, at=AT - dt.timedelta(days=1))
    return [p.nik for p in people]


def stored(engine: sa.Engine, nik: str) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The card row and its last event row as the database holds them (SQLite: the text)."""
    with engine.connect() as conn:
        card_id = conn.scalar(sa.select(residents.c.id).where(residents.c.nik == nik))
        card = conn.exec_driver_sql(f"SELECT state, version, updated_at FROM cards WHERE id = {card_id}").one()
        event = conn.exec_driver_sql(
            "SELECT version, trigger, from_state, to_state, actor, reason, occurred_at, lifecycle_hash, "
            f"idempotency_key, rule_set_version, batch_id FROM events WHERE card_id = {card_id} ORDER BY seq DESC"
        ).first()
    assert event is not None
    return tuple(card), tuple(event)


def test_only_triggers_without_database_guards_or_effects_take_the_driver_path() -> None:
    direct = driver_triggers(default_lifecycle())
    assert {"record", "submit", "confirm_single", "flag_duplicate", "reject_enrollment"} <= direct
    # these reserve, release or consume blanks, or mark the resident: they need a Connection
    assert not direct & {"allocate", "release", "print_card", "collect", "die", "move_out"}


def test_the_driver_path_writes_the_rows_the_sqlalchemy_path_writes(workflow: Workflow, engine: sa.Engine) -> None:
    first, second = registered(workflow, 2)
    for trigger in ("record", "submit", "confirm_single"):
        direct = workflow.fire(first, trigger, actor=ACTOR, reason="both ways", at=AT, idempotency_key=f"a-{trigger}")
        assert workflow.fire_many([FireRequest(second, trigger, "both ways", AT, f"b-{trigger}")], actor=ACTOR) == 1
        assert trigger in workflow._transitions.on_driver
        (card_a, event_a), (card_b, event_b) = stored(engine, first), stored(engine, second)
        assert card_a == card_b
        assert event_a[:8] + event_a[9:] == event_b[:8] + event_b[9:]  # all but the idempotency key
        assert direct == workflow.history(first)[-1]
    # stored as SQLAlchemy stores the type (on SQLite: its text, which SQL compares and sorts)
    process = UTCDateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert card_a[2] == (process(AT) if process else AT) and event_a[6] == card_a[2]
    assert workflow.card(first).updated_at == AT
    report = workflow.audit.verify()
    assert report.ok and report.checked == 2 + 6


def test_the_driver_path_reads_values_as_sqlalchemy_does(workflow: Workflow, engine: sa.Engine) -> None:
    (nik,) = registered(workflow, 1)
    workflow.fire(nik, "record", actor=ACTOR, at=AT)
    with engine.begin() as conn:
        ours = _LOCK_HEAD_AND_CARD.first(conn, {"nik": nik})
        theirs = conn.execute(_LOCK_HEAD_AND_CARD.statement, {"nik": nik}).one()
    assert ours == tuple(theirs)
    assert ours is not None and ours[5] == AT and ours[5].tzinfo is not None
    assert isinstance(ours[8], dt.date)


def test_in_lists_run_on_the_driver_as_sqlalchemy_runs_them(workflow: Workflow, engine: sa.Engine) -> None:
    niks = registered(workflow, 3)
    query = driver.DriverStatement(
        sa.select(residents.c.nik, residents.c.birth_date, residents.c.registered_at)
        .where(
            residents.c.nik.in_(sa.bindparam("niks", expanding=True)),
            residents.c.registered_at >= sa.bindparam("since"),
            residents.c.nik.in_(sa.bindparam("again", expanding=True)),
        )
        .order_by(residents.c.nik)
    )
    params = {
        "niks": [niks[0], niks[2], "3171010101900001"],
        "since": AT - dt.timedelta(days=2),
        "again": [niks[2], niks[0]],
    }
    with engine.connect() as conn:
        ours = query.all(conn, params)
        theirs = [tuple(row) for row in conn.execute(query.statement, params)]
        assert ours == theirs and [row[0] for row in ours] == sorted([niks[0], niks[2]])
        assert query.all(conn, {**params, "niks": [niks[1]]}) == []  # another length: written out again
        with pytest.raises(ValueError, match="'niks' is empty"):
            query.all(conn, {**params, "niks": []})


def test_a_driver_error_comes_out_as_sqlalchemys(workflow: Workflow, engine: sa.Engine) -> None:
    (nik,) = registered(workflow, 1)
    workflow.fire(nik, "record", actor=ACTOR, idempotency_key="once")
    row = {c.name: None for c in events.columns}
    with engine.begin() as conn:
        row.update(conn.execute(sa.select(events).where(events.c.idempotency_key == "once")).one()._mapping)
    row.update(seq=row["seq"] + 1000, hash="f" * 64)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        eventlog._INSERT.rowcount(conn, row)


@pytest.mark.parametrize("broken", ["chain", "commit"])
def test_a_failure_inside_the_transaction_leaves_the_database_as_it_was(
    workflow: Workflow, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    first, second = registered(workflow, 2)
    workflow.fire(first, "record", actor=ACTOR)  # the pooled connection has written before
    before = snapshot(engine)

    def fail(*_: object) -> None:
        raise RuntimeError("disk on fire")

    # hashing the event (on SQLite after the card's UPDATE), or the COMMIT itself (which on
    # PostgreSQL goes with the move's statement, in one round trip)
    if broken == "chain":
        monkeypatch.setattr(eventlog, "chain", fail)
    elif engine.dialect.name == "postgresql":
        sending = roundtrips.Trips.run

        def send(
            self: roundtrips.Trips,
            connection: object,
            statement: object,
            sql: str,
            arguments: dict[str, object],
            commit: bool,
            *rest: object,
        ) -> object:
            if commit:
                fail()
            return sending(self, connection, statement, sql, arguments, commit, *rest)  # type: ignore[arg-type]

        monkeypatch.setattr(roundtrips.Trips, "run", send)
    else:
        monkeypatch.setattr(driver.Driver, "commit", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        workflow.fire(second, "record", actor=ACTOR)
    assert snapshot(engine) == before
    monkeypatch.undo()
    # the connection went back to the pool clean: the next fires on it work
    workflow.fire(second, "record", actor=ACTOR)
    workflow.fire(first, "submit", actor=ACTOR)
    assert workflow.audit.verify().ok


def test_a_busy_sqlite_database_is_retried_then_reported_without_writing(
    tmp_path: object, migrated_sqlite: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    path = f"{tmp_path}/busy.db"
    shutil.copyfile(str(migrated_sqlite), path)
    monkeypatch.setattr(engines, "SQLITE_BUSY_TIMEOUT_MS", 20)
    engine = create_engine(f"sqlite:///{path}")
    workflow = Workflow(engine)
    (nik,) = registered(workflow, 1)
    before = snapshot(engine)

    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
    with pytest.raises(DatabaseBusy, match="nothing was written"):
        workflow.fire(nik, "record", actor=ACTOR)
    other.execute("ROLLBACK")
    assert snapshot(engine) == before

    other.execute("BEGIN IMMEDIATE")  # ... and now lets go while the fire is retrying
    release = threading.Timer(0.1, lambda: other.execute("ROLLBACK"))
    release.start()
    started = time.monotonic()
    event = workflow.fire(nik, "record", actor=ACTOR)
    release.join()
    assert event.to_state == "recorded" and time.monotonic() - started >= 0.1
    other.close()
    engine.dispose()


def test_a_connection_the_server_dropped_is_not_reused(workflow: Workflow, engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops connections is a PostgreSQL matter")
    first, second = registered(workflow, 2)
    workflow.fire(first, "record", actor=ACTOR)
    with engine.connect() as pooled:  # the pool's one connection, which the fire used
        pid = pooled.scalar(sa.text("SELECT pg_backend_pid()"))
    other = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as admin:
        assert admin.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    with pytest.raises(DatabaseError):
        workflow.fire(second, "record", actor=ACTOR)
    # the dead connection was dropped, not pooled: the next fire gets a new one
    workflow.fire(second, "record", actor=ACTOR)
    assert workflow.card(second).state == "recorded"


def test_a_commit_the_server_refuses_leaves_the_database_as_it_was(workflow: Workflow, engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a deferred trigger that fails the COMMIT is a PostgreSQL matter")
    first, second = registered(workflow, 2)
    workflow.fire(first, "record", actor=ACTOR)
    with engine.begin() as conn:  # checked at COMMIT, which goes with the move
        conn.exec_driver_sql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
        )
        conn.exec_driver_sql(
            "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON events "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    before = snapshot(engine)
    with pytest.raises(sa.exc.DBAPIError, match="refused at commit"):
        workflow.fire(second, "record", actor=ACTOR)
    assert snapshot(engine) == before
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse_at_commit ON events")
    workflow.fire(second, "record", actor=ACTOR)  # the connection went back clean
    assert workflow.card(second).state == "recorded" and workflow.audit.verify().ok


def test_statements_the_driver_dropped_are_prepared_again(workflow: Workflow, engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL matter")
    niks = registered(workflow, 3)
    workflow.fire(niks[0], "record", actor=ACTOR)  # prepares them on the pool's connection
    with engine.connect() as conn:  # the same connection: drop them, as psycopg does after a ROLLBACK
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'ektp_%'")) == 2
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
    workflow.fire(niks[1], "record", actor=ACTOR)  # the first statement finds itself gone, starts over
    with engine.connect() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
    with pytest.raises(TransitionNotAllowed):  # refused after the BEGIN: rolled back
        workflow.fire(niks[1], "print_card", actor=ACTOR)
    workflow.fire(niks[2], "record", actor=ACTOR)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'ektp_%'")) == 2
    assert [workflow.card(n).state for n in niks] == ["recorded"] * 3
    assert workflow.audit.verify().ok


def test_with_prepared_statements_off_fires_take_the_usual_round_trips(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL matter")
    unprepared = create_engine(engine.url, connect_args={"prepare_threshold": None})  # as behind pgbouncer
    try:
        workflow = Workflow(unprepared)
        (nik,) = registered(workflow, 1)
        for trigger in ("record", "submit", "confirm_single"):
            workflow.fire(nik, trigger, actor=ACTOR)
        with unprepared.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements")) == 0
        assert workflow.card(nik).state == "deduplicated" and workflow.audit.verify().ok
    finally:
        unprepared.dispose()


def _prepared(engine: sa.Engine) -> list[str]:
    with engine.begin() as conn:  # the pool's one connection, which the fires used (committed:
        # psycopg's own ROLLBACK would drop what is prepared)
        return sorted(conn.scalars(sa.text("SELECT name FROM pg_prepared_statements")))


def test_a_refused_fire_keeps_what_is_prepared_on_the_connection(workflow: Workflow, engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL matter")
    first, second = registered(workflow, 2)
    for _ in range(6):  # psycopg prepares a query of its own after five runs
        workflow.card(first)
    workflow.fire(first, "record", actor=ACTOR)
    prepared = _prepared(engine)
    assert sum(name.startswith("ektp_") for name in prepared) == 2 and len(prepared) > 2
    with pytest.raises(TransitionNotAllowed):  # rolled back after the BEGIN
        workflow.fire(second, "submit", actor=ACTOR)
    assert _prepared(engine) == prepared  # not dropped, so not prepared again
    with engine.begin() as conn:
        assert conn.connection.driver_connection.autocommit is False  # as the pool gave it
    workflow.fire(second, "record", actor=ACTOR)
    assert workflow.audit.verify().ok


@pytest.mark.parametrize("level", ["SERIALIZABLE", "AUTOCOMMIT"])
def test_the_engines_isolation_level_holds_for_single_transitions(engine: sa.Engine, level: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("isolation levels of the fast path are a PostgreSQL matter")
    with engine.begin() as conn:  # an event written outside a serializable transaction is refused
        conn.exec_driver_sql(
            "CREATE FUNCTION serializable_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF current_setting('transaction_isolation') <> 'serializable' THEN RAISE EXCEPTION 'not serializable'; "
            "END IF; RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER serializable_only BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION serializable_only()"
        )
    other = create_engine(engine.url, isolation_level=level)
    try:
        workflow = Workflow(other)
        if level == "SERIALIZABLE":
            with other.begin() as conn:  # registration, through SQLAlchemy
                conn.exec_driver_sql("DROP TRIGGER serializable_only ON events")
            (nik,) = registered(workflow, 1)
            with other.begin() as conn:
                conn.exec_driver_sql(
                    "CREATE TRIGGER serializable_only BEFORE INSERT ON events FOR EACH ROW "
                    "EXECUTE FUNCTION serializable_only()"
                )
            assert workflow.fire(nik, "record", actor=ACTOR).to_state == "recorded"
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER serializable_only ON events")
            (nik,) = registered(workflow, 1)
            workflow.fire(nik, "record", actor=ACTOR)
            with other.connect() as conn:  # left in autocommit, as the engine keeps its connections
                assert conn.connection.driver_connection.autocommit is True
        assert workflow.card(nik).state == "recorded" and workflow.audit.verify().ok
    finally:
        other.dispose()
