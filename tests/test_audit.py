"""The auditor's toolkit: tampering is refused or found, replay matches, explain agrees."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import FireRequest, Workflow
from ektp_workflow._store import history as log_pages
from ektp_workflow._store.chain import chain_hash
from ektp_workflow._store.schema import APPEND_ONLY, events
from ektp_workflow.cli.main import cli
from ektp_workflow.clock import now

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import make_resident
from .tampering import rewrite_chain
from .tampering import unprotect as unprotect_all
from .test_allocation import queue, stock
from .test_reliability import log

ACTOR = "auditee"


@pytest.fixture
def history(workflow: Workflow) -> list[str]:
    """Some cards with a few events each: 4 registered, recorded, submitted."""
    residents = [make_resident() for _ in range(4)]
    workflow.register(residents, actor=ACTOR)
    workflow.fire_many([FireRequest(r.nik, t) for t in ("record", "submit") for r in residents], actor=ACTOR)
    return [r.nik for r in residents]


def unprotect(engine: sa.Engine) -> None:
    """What an administrator with full access can do: switch the append-only triggers off."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
        else:
            for action in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER events_no_{action}")


def tamper(engine: sa.Engine, *statements: str) -> None:
    unprotect(engine)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


@pytest.fixture
def every_table_filled(workflow: Workflow, history: list[str]) -> None:
    queue(workflow, ITS, 2, 0)
    stock(workflow, {ITS: 1})
    given = workflow.allocate(actor=ACTOR).chosen()[0].nik
    workflow.fire_many([FireRequest(given, "print_card"), FireRequest(given, "collect")], actor=ACTOR)
    workflow.replace(given, "lost", reference="LP/1/2026", actor=ACTOR)
    workflow.blanks.set_quota("2026-12", 500, reference="SE 471.13/6153", actor=ACTOR)
    workflow.blanks.request(1, reference="470/1/Disdukcapil/2026", actor=ACTOR)


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_the_database_refuses_to_change_append_only_tables(
    engine: sa.Engine, every_table_filled: None, table: str, statement: str
) -> None:
    column = sa.inspect(engine).get_columns(table)[0]["name"]
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement.format(t=table, c=column))


def test_postgresql_refuses_truncate(engine: sa.Engine, history: list[str]) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(sa.exc.DatabaseError, match="append-only: TRUNCATE refused"), engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE events CASCADE")


def test_an_untouched_log_verifies(workflow: Workflow, history: list[str]) -> None:
    report = workflow.audit.verify(workflow.audit.checkpoint())
    assert report.ok and report.checked == 12


@pytest.mark.parametrize(
    ("statements", "first_bad", "words"),
    [
        # seq 1-4: the registrations, 5-8: the residents' data, 9-16: the other events
        (["UPDATE events SET actor = 'someone else' WHERE seq = 10"], 10, "edited, inserted or moved"),
        (["UPDATE events SET to_state = 'deduplicated' WHERE seq = 15"], 15, "edited"),
        (["DELETE FROM events WHERE seq = 11"], 12, "events 11..11 were deleted"),
        (
            [
                "UPDATE events SET seq = 100 WHERE seq = 9",
                "UPDATE events SET seq = 9 WHERE seq = 10",
                "UPDATE events SET seq = 10 WHERE seq = 100",
            ],
            9,
            "edited, inserted or moved",
        ),
        (["DELETE FROM events WHERE seq > 14"], 15, "its tail was deleted"),
    ],
    ids=["edit-actor", "edit-state", "delete", "swap", "truncate-tail"],
)
def test_tampering_is_found_at_the_first_bad_sequence_number(
    workflow: Workflow, engine: sa.Engine, history: list[str], statements: list[str], first_bad: int, words: str
) -> None:
    tamper(engine, *statements)
    report = workflow.audit.verify()
    assert not report.ok
    assert report.problems[0].seq == first_bad
    assert words in report.problems[0].what
    log(
        {
            "test": f"tampering in the database: {words}",
            "database": engine.dialect.name,
            "hostile_inputs": len(statements),
            "lost": 0,
            "caught": f"seq {first_bad}",
        }
    )


def test_a_forged_event_added_after_the_head_is_found(
    workflow: Workflow, engine: sa.Engine, history: list[str]
) -> None:
    forged = _forge_last_event(engine)
    with engine.begin() as conn:
        conn.execute(events.insert().values(forged))
    report = workflow.audit.verify()
    assert "added outside the engine" in report.problems[0].what


def test_a_rewritten_history_is_found_against_a_kept_checkpoint(
    workflow: Workflow, engine: sa.Engine, history: list[str]
) -> None:
    kept = workflow.audit.checkpoint()
    _rewrite_chain(engine, "UPDATE events SET actor = 'cover-up' WHERE seq = 3")
    assert workflow.audit.verify().ok, "a full rewrite is consistent in itself ..."
    report = workflow.audit.verify(kept)
    assert not report.ok and "differs from the checkpoint kept" in report.problems[0].what
    assert report.problems[0].seq == kept[0]


def test_a_tail_deleted_with_its_chain_head_is_found_against_a_kept_checkpoint(
    workflow: Workflow, engine: sa.Engine, history: list[str]
) -> None:
    kept = workflow.audit.checkpoint()
    tamper(engine, "DELETE FROM events WHERE seq > 9")
    with engine.begin() as conn:
        last = conn.execute(sa.text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")).one()
        conn.execute(sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h"), {"s": last.seq, "h": last.hash})
    report = workflow.audit.verify(kept)
    assert [p.seq for p in report.problems] == [kept[0]] and "missing" in report.problems[0].what


def _forge_last_event(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        last = dict(conn.execute(sa.select(events).order_by(events.c.seq.desc()).limit(1)).one()._mapping)
    forged = {
        **last,
        "seq": last["seq"] + 1,
        "version": last["version"] + 1,
        "trigger": "confirm_single",
        "from_state": "prr",
        "to_state": "deduplicated",
        "recorded_at": now(),
    }
    forged["hash"] = chain_hash(str(last["hash"]), forged)
    return forged


def _rewrite_chain(engine: sa.Engine, statement: str) -> None:
    tamper(engine, statement)
    unprotect_all(engine)
    rewrite_chain(engine)


def test_replay_equals_stored_state_and_finds_a_state_changed_behind_its_back(
    workflow: Workflow, engine: sa.Engine, history: list[str]
) -> None:
    stock(workflow, {ITS: 2})
    queue(workflow, ITS, 3, 1)
    workflow.allocate(actor=ACTOR)
    assert workflow.audit.compare() == []
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE cards SET state = 'printed' WHERE state = 'allocated'")
    mismatches = workflow.audit.compare()
    assert any("stored printed" in m and "replay gives ('allocated'" in m for m in mismatches)


def test_as_of_reproduces_the_counts_of_an_earlier_point(workflow: Workflow, history: list[str]) -> None:
    before_counts = workflow.counts()
    moment, seq = now(), workflow.audit.checkpoint()[0]
    for nik in history[:3]:
        workflow.fire(nik, "confirm_single", actor=ACTOR)
    workflow.fire(history[3], "flag_duplicate", actor=ACTOR)
    assert workflow.audit.replay(as_of=moment)[1] == before_counts
    assert workflow.audit.replay(until_seq=seq)[1] == before_counts
    assert workflow.audit.replay()[1] == workflow.counts() != before_counts


def test_replay_counts_a_card_whose_resident_was_deleted_under_a_question_mark(
    workflow: Workflow, engine: sa.Engine, history: list[str]
) -> None:
    raw = engine.raw_connection()  # behind the engine's back, foreign keys off
    cursor = raw.cursor()
    if engine.dialect.name == "sqlite":
        cursor.execute("PRAGMA foreign_keys=OFF")
    else:
        cursor.execute("SET session_replication_role = replica")
    cursor.execute("DELETE FROM residents WHERE id = (SELECT min(id) FROM residents)")
    raw.commit()
    raw.close()
    folded, counts = workflow.audit.replay()
    assert counts["?"] == {"prr": 1}
    assert sum(n for states in counts.values() for n in states.values()) == len(folded.cards) == 4


def test_explain_agrees_with_what_happened_for_every_card_of_a_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EKTP_DATABASE_URL", raising=False)
    assert CliRunner().invoke(cli, ["demo", "--residents", "300", "--blanks", "80"]).exit_code == 0
    with Workflow.open("sqlite:///ektp-demo.db") as workflow:
        with workflow._store.reading() as conn:
            niks = list(
                conn.scalars(
                    sa.text("SELECT DISTINCT r.nik FROM allocation_queue q JOIN residents r ON r.id = q.card_id")
                )
            )
            allocated = set(
                conn.scalars(
                    sa.text(
                        "SELECT r.nik FROM events e JOIN residents r ON r.id = e.card_id WHERE e.trigger = 'allocate'"
                    )
                )
            )
        assert len(niks) > 100 and len(allocated) > 30
        for nik in niks:
            explanation = workflow.audit.explain(nik)
            assert all(run.agrees for run in explanation.runs), nik
            assert any(run.replanned for run in explanation.runs) == (nik in allocated), nik


def test_export_opens_in_duckdb_with_every_event_and_masked_niks(
    workflow: Workflow, history: list[str], tmp_path: Path
) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is in the test extra")
    workflow.fire(history[0], "confirm_single", actor=ACTOR, reason='=HYPERLINK("http://x")')
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"events.{fmt}"
        with path.open("w", encoding="utf-8", newline="") as out:
            assert workflow.audit.export(out, fmt) == 13
        reader = "read_json_auto" if fmt == "jsonl" else "read_csv_auto"
        rows = duckdb.sql(f"SELECT nik, reason FROM {reader}('{path}') ORDER BY seq").fetchall()
        assert len(rows) == 13
        assert all(nik.endswith("**********") and nik[:6].isdigit() for nik, _ in rows)
    assert rows[-1][1] == '\'=HYPERLINK("http://x")', "CSV neutralises spreadsheet formulas"


def test_export_from_a_sequence_number_and_unmasked(workflow: Workflow, history: list[str]) -> None:
    out = io.StringIO()
    assert workflow.audit.export(out, "jsonl", from_seq=14, unmasked=True) == 2
    assert {json.loads(line)["nik"] for line in out.getvalue().splitlines()} <= set(history)


def test_grant_auditor_creates_a_role_that_reads_and_cannot_write(
    engine: sa.Engine, db_url: str, history: list[str]
) -> None:
    if engine.dialect.name != "postgresql":
        result = CliRunner().invoke(cli, ["--db", db_url, "db", "grant-auditor", "bpk"])
        assert result.exit_code == 1 and "needs PostgreSQL" in result.stderr
        return
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(cli, ["--db", db_url, "db", "grant-auditor", role])
    assert result.exit_code == 0, result.output
    as_auditor = sa.create_engine(sa.make_url(db_url).set(username=role))
    try:
        with as_auditor.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM events")) == 12
        for statement in ("INSERT INTO lifecycles VALUES ('x', 'x', 'x', now())", "UPDATE cards SET version = 0"):
            with pytest.raises(sa.exc.DatabaseError, match="read-only transaction|permission denied"):
                with as_auditor.begin() as conn:
                    conn.exec_driver_sql(statement)
        assert Workflow(as_auditor).audit.verify().ok, "an auditor verifies with nothing but read access"
    finally:
        as_auditor.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_a_bad_role_name_is_refused(db_url: str, engine: sa.Engine) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "db", "grant-auditor", "x; DROP TABLE events"])
    assert result.exit_code == 1


def test_the_application_role_works_but_cannot_alter_the_history(
    engine: sa.Engine, db_url: str, history: list[str]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are a PostgreSQL matter")
    role = f"app_{uuid.uuid4().hex[:8]}"
    assert CliRunner().invoke(cli, ["--db", db_url, "db", "grant-app", role]).exit_code == 0
    as_app = sa.create_engine(sa.make_url(db_url).set(username=role))
    try:
        app = Workflow(as_app)
        queue(app, ITS, 2, 1)
        stock(app, {ITS: 2})
        app.allocate(actor="app")
        app.bulk_fire("confirm_single", actor="app", where_state="prr")
        assert app.audit.verify().ok and app.audit.compare() == []
        # a temporary table of the role's own cannot take the queue's place in the triggers
        waiting = make_resident(ITS)
        app.register([waiting], actor="app")
        app.fire_many([FireRequest(waiting.nik, t) for t in ("record", "submit")], actor="app")
        as_app.dispose()  # a new session: no plan of the triggers cached yet
        with as_app.connect() as conn:
            conn.exec_driver_sql("CREATE TEMPORARY TABLE waiting_cards (LIKE waiting_cards) ON COMMIT DROP")
            Workflow(conn).fire(waiting.nik, "confirm_single", actor="app")
            conn.commit()
        with engine.connect() as conn:
            kept = conn.scalar(
                sa.text("SELECT count(*) FROM waiting_cards w JOIN residents r ON r.id = w.card_id WHERE r.nik = :nik"),
                {"nik": waiting.nik},
            )
        assert kept == 1
        # nor can it attach the queue's trigger functions to a table of its own
        with pytest.raises(sa.exc.DatabaseError, match="permission denied for function"):
            with as_app.begin() as conn:
                conn.exec_driver_sql("CREATE TEMPORARY TABLE t (id bigint, updated_at timestamptz, state text)")
                conn.exec_driver_sql(
                    "CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION waiting_cards_since()"
                )
        for statement in (
            "UPDATE events SET actor = 'x'",
            "DELETE FROM events",
            "DELETE FROM cards",
            "UPDATE blank_entries SET quantity = 2",
            "TRUNCATE events",
            "UPDATE waiting_cards SET suket = true",
            "DELETE FROM waiting_cards",
        ):
            with pytest.raises(sa.exc.DatabaseError, match="permission denied"), as_app.begin() as conn:
                conn.exec_driver_sql(statement)
    finally:
        as_app.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_reading_the_log_costs_the_same_per_page_however_far_in_it_is(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyset pages must seek to where the last one ended: counted in SQLite VM steps, not timed.

    Reading three times the events must cost about three times the work; a page
    that scanned from the start of the log each time would cost about nine.
    """
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite counts the steps of its virtual machine")
    monkeypatch.setattr(log_pages, "PAGE", 25)
    wf = Workflow(engine)

    def steps() -> int:
        counted = [0]
        with engine.connect() as conn:

            def count() -> int:
                counted[0] += 1
                return 0

            conn.connection.driver_connection.set_progress_handler(count, 100)  # type: ignore[union-attr]
            mine = Workflow(conn)
            assert mine.audit.verify().ok
            assert mine.audit.export(io.StringIO(), from_seq=10) > 0
            conn.connection.driver_connection.set_progress_handler(None, 100)  # type: ignore[union-attr]
        return counted[0]

    wf.register([make_resident(ITS) for _ in range(200)], actor="kec-05/op")
    small = steps()
    wf.register([make_resident(ITS) for _ in range(400)], actor="kec-05/op")
    assert steps() < 4 * small


def test_two_events_at_the_two_0130s_of_a_night_the_clocks_go_back_verify(workflow: Workflow) -> None:
    new_york = ZoneInfo("America/New_York")
    first = dt.datetime(2021, 11, 7, 1, 30, tzinfo=new_york)
    residents = [make_resident(ITS) for _ in range(4)]
    workflow.register(residents, actor="kec-05/op", at=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    workflow.fire(residents[0].nik, "record", actor="kec-05/op", at=first)
    workflow.fire(residents[1].nik, "record", actor="kec-05/op", at=first.replace(fold=1))
    workflow.bulk_fire("record", actor="kec-05/op", where_state="unrecorded", limit=1, at=first)
    workflow.bulk_fire("record", actor="kec-05/op", where_state="unrecorded", at=first.replace(fold=1))
    times = [workflow.history(r.nik)[-1].occurred_at for r in residents]
    assert [t - times[0] for t in times] == [dt.timedelta(0), dt.timedelta(hours=1)] * 2
    assert workflow.audit.verify().ok


def test_grants_take_a_password_and_refuse_a_superuser(engine: sa.Engine, db_url: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are a PostgreSQL matter")
    role, app = f"aud_{uuid.uuid4().hex[:8]}", f"app_{uuid.uuid4().hex[:8]}"
    try:
        for command, name in (("grant-auditor", role), ("grant-app", app)):
            result = CliRunner().invoke(cli, ["--db", db_url, "db", command, name, "--password", "it's s3cret"])
            assert result.exit_code == 0, result.output
            refused = CliRunner().invoke(cli, ["--db", db_url, "db", command, "postgres"])
            assert refused.exit_code == 1 and "it can do anything" in refused.output
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT rolconfig FROM pg_roles WHERE rolname = 'postgres'")) is None
            for name in (role, app):
                assert conn.scalar(
                    sa.text("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :r"), {"r": name}
                )
            owner = conn.scalar(
                sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'events' AND schemaname = current_schema()")
            )
            later = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_default_acl a JOIN pg_roles o ON o.oid = a.defaclrole "
                    "WHERE o.rolname = :o AND array_to_string(a.defaclacl, ',') LIKE :r"
                ),
                {"o": owner, "r": f"%{role}=r/%"},
            )
        assert later == 1, "tables the owner creates later are readable too"
        as_auditor = sa.create_engine(sa.make_url(db_url).set(username=role))
        try:
            refused = CliRunner().invoke(
                cli,
                [
                    "--db",
                    as_auditor.url.render_as_string(hide_password=False),
                    "--actor",
                    "x",
                    "blanks",
                    "receive",
                    "5",
                    "--reference",
                    "R",
                ],
            )
            assert refused.exit_code != 0 and "this connection" in refused.output, refused.output
            assert "Traceback" not in refused.output
        finally:
            as_auditor.dispose()
    finally:
        with engine.begin() as conn:
            for name in (role, app):
                conn.exec_driver_sql(f"DROP OWNED BY {name}")
                conn.exec_driver_sql(f"DROP ROLE {name}")
