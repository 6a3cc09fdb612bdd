"""An insider with write access changes who gets a blank, or how many blanks there are,
behind the engine's back: every such change is found by `audit verify` or `audit
replay` (each stored table is a checked projection of the chained history)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import Workflow
from ektp_workflow._store.schema import events
from ektp_workflow.cli.main import cli

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .tampering import unprotect
from .test_allocation import queue, stock
from .test_reliability import log

ACTOR = "dinas/kabid"


def replay(engine: sa.Engine) -> tuple[int, list[str]]:
    """``ektp audit replay --json``: its exit code and every problem and mismatch listed."""
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "audit", "replay", "--json"])
    shown = json.loads(result.stdout)
    return result.exit_code, shown["problems"] + shown["mismatches"]


def caught(engine: sa.Engine, what: str, how: str, inputs: int = 1) -> None:
    """Note in the reliability report an insider's attack and what found it."""
    log(
        {
            "test": f"insider: {what}",
            "database": engine.dialect.name,
            "hostile_inputs": inputs,
            "lost": 0,
            "caught": how,
        }
    )


def sql(engine: sa.Engine, *statements: str, **values: object) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), values)


@pytest.fixture
def waiting(workflow: Workflow, engine: sa.Engine) -> dict[str, list[str]]:
    """Two first-time applicants and two replacements waiting at Ilir Timur Satu, one
    first-time applicant at Sako; the history replays clean."""
    niks = {"first": queue(workflow, ITS, 2, 0), "replacement": queue(workflow, ITS, 0, 2)}
    niks["sako"] = queue(workflow, SAKO, 1, 0)
    assert replay(engine) == (0, [])
    return niks


def card_id(engine: sa.Engine, nik: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT id FROM residents WHERE nik = :n"), {"n": nik}))


def test_a_queue_jump_by_editing_a_resident_is_found(
    workflow: Workflow, engine: sa.Engine, waiting: dict[str, list[str]]
) -> None:
    jumper = card_id(engine, waiting["replacement"][1])
    sql(engine, "UPDATE residents SET had_ektp = :no WHERE id = :id", no=False, id=jumper)
    stock(workflow, {ITS: 1})
    plan = workflow.allocate(actor=ACTOR)  # the engine believes the stored data ...
    assert [a.nik for a in plan.chosen()] == [waiting["first"][0]]
    code, found = replay(engine)  # ... and replay shows it is not the history's
    assert code == 1
    assert f"resident {jumper}: had_ektp differ from the history" in " ".join(found)
    caught(engine, "a replacement made first-time (residents.had_ektp), then an allocation", "audit replay")


def test_a_queue_jump_by_backdating_a_card_is_found(engine: sa.Engine, waiting: dict[str, list[str]]) -> None:
    jumper = card_id(engine, waiting["replacement"][0])
    sql(engine, "UPDATE cards SET updated_at = :at WHERE id = :id", at="2000-01-01 00:00:00+00", id=jumper)
    code, found = replay(engine)
    assert code == 1
    assert any(f"card {jumper}: updated_at" in line and "its last event occurred at" in line for line in found)
    caught(engine, "a card backdated to jump the queue (cards.updated_at)", "audit replay")


def test_swapped_niks_and_a_changed_kecamatan_are_found(engine: sa.Engine, waiting: dict[str, list[str]]) -> None:
    a, b = card_id(engine, waiting["first"][0]), card_id(engine, waiting["first"][1])
    sql(
        engine,
        "UPDATE residents SET nik = 'x' WHERE id = :a",
        "UPDATE residents SET nik = :nik_a WHERE id = :b",
        "UPDATE residents SET nik = :nik_b WHERE id = :a",
        "UPDATE residents SET kecamatan = :sako WHERE id = :c",
        a=a,
        b=b,
        nik_a=waiting["first"][0],
        nik_b=waiting["first"][1],
        sako=SAKO,
        c=card_id(engine, waiting["replacement"][0]),
    )
    code, found = replay(engine)
    text = " ".join(found)
    assert code == 1
    assert f"resident {a}: nik differ" in text and f"resident {b}: nik differ" in text
    assert f"resident {card_id(engine, waiting['replacement'][0])}: kecamatan differ" in text
    caught(engine, "two NIKs swapped, a kecamatan changed (residents)", "audit replay", 4)


def test_the_queue_table_edited_directly_is_found(engine: sa.Engine, waiting: dict[str, list[str]]) -> None:
    if engine.dialect.name == "postgresql":
        sql(engine, "ALTER TABLE waiting_cards DISABLE TRIGGER USER")  # only the owner can
    jumper = card_id(engine, waiting["replacement"][0])
    sql(engine, "UPDATE waiting_cards SET had_ektp = :no WHERE card_id = :id", no=False, id=jumper)
    sql(engine, "DELETE FROM waiting_cards WHERE card_id = :id", id=card_id(engine, waiting["sako"][0]))
    code, found = replay(engine)
    text = " ".join(found)
    assert code == 1
    assert f"queue: card {jumper} kept in the queue but not waiting so" in text
    assert f"queue: card {card_id(engine, waiting['sako'][0])} waiting but missing from the queue" in text
    caught(engine, "the queue table edited directly (waiting_cards)", "audit replay", 2)


def test_a_registration_written_outside_the_engine_is_found(engine: sa.Engine, waiting: dict[str, list[str]]) -> None:
    sql(
        engine,
        "INSERT INTO residents (id, nik, name, kecamatan, birth_date, sex, had_ektp, registered_at) "
        "VALUES (999, '1671054509050999', 'Ghost', :k, '1990-01-01', 'F', :no, '2026-01-01 00:00:00+00')",
        k=ITS,
        no=False,
    )
    code, found = replay(engine)
    assert code == 1 and "resident 999: no resident entry in the history" in " ".join(found)
    caught(engine, "a resident inserted outside the engine", "audit replay")


def test_blanks_that_vanish_from_a_batch_are_found(workflow: Workflow, engine: sa.Engine) -> None:
    workflow.blanks.receive("B-1", 100, actor=ACTOR)
    sql(engine, "UPDATE blank_batches SET received = received - 50, undistributed = undistributed - 50")
    assert "batch B-1: received 50, but its entries received 100" in workflow.blanks.problems()
    assert replay(engine)[0] == 1
    caught(engine, "50 blanks taken off a batch (blank_batches)", "blanks status, audit replay")


def test_a_forged_distribution_with_matching_stock_is_found(workflow: Workflow, engine: sa.Engine) -> None:
    workflow.blanks.receive("B-1", 10, actor=ACTOR)
    seq, head = workflow.audit.checkpoint()
    sql(
        engine,
        "INSERT INTO blank_entries (seq, batch_id, kecamatan, movement, quantity, actor, occurred_at) "
        "VALUES (:seq, 1, :k, 'distributed', 5, 'gudang', '2026-01-01 00:00:00+00')",
        "UPDATE blank_batches SET undistributed = 5",
        "INSERT INTO blank_stock (batch_id, kecamatan, unallocated, reserved, consumed, spoiled) VALUES (1, :k, 5, 0, 0, 0)",
        seq=seq + 1,
        k=ITS,
    )
    assert workflow.blanks.problems() == []  # the balances agree with the forged entry ...
    report = workflow.audit.verify((seq, head))
    assert not report.ok and report.problems[0].seq == seq + 1  # ... which is not in the chain
    caught(engine, "a forged distribution with matching stock", "audit verify --against", 3)


def test_an_altered_stored_lifecycle_is_found(
    workflow: Workflow, engine: sa.Engine, waiting: dict[str, list[str]]
) -> None:
    """The stored definition gains deduplicated -> collected; an event uses it, chained."""
    unprotect(engine, "lifecycles")
    with engine.begin() as conn:
        key, text = conn.execute(sa.text("SELECT hash, definition FROM lifecycles")).one()
        definition = json.loads(text)
        skip = {"trigger": "collect", "source": "deduplicated", "dest": "collected", "guards": [], "effects": []}
        definition["transitions"].append({**skip, "help": ""})
        conn.execute(sa.text("UPDATE lifecycles SET definition = :d"), {"d": json.dumps(definition)})
    forged = _forge_event(engine, card_id(engine, waiting["first"][0]), "collect", "deduplicated", "collected", key)
    assert workflow.audit.verify().ok  # the forged event is chained like any other
    code, found = replay(engine)
    assert code == 1
    assert any(f"lifecycle {key[:12]} was altered: its stored definition hashes to" in line for line in found)
    assert sum("was altered" in line for line in found) == 1, "reported once"
    assert forged > 0
    caught(engine, "a stored lifecycle altered, and an event under it chained correctly", "audit replay", 2)


def _forge_event(engine: sa.Engine, card: int, trigger: str, source: str, dest: str, lifecycle: str) -> int:
    """Append an event at the head with a correct chain hash, and move the card."""
    from ektp_workflow._store.chain import chain_hash

    with engine.begin() as conn:
        seq, head = conn.execute(sa.text("SELECT last_seq, last_hash FROM event_chain")).one()
        version = int(conn.scalar(sa.text("SELECT version FROM cards WHERE id = :c"), {"c": card})) + 1
        at = conn.scalar(sa.text("SELECT occurred_at FROM events ORDER BY seq DESC LIMIT 1"))
        row = {
            "seq": seq + 1,
            "card_id": card,
            "version": version,
            "trigger": trigger,
            "from_state": source,
            "to_state": dest,
            "actor": "insider",
            "reason": None,
            "occurred_at": at,
            "recorded_at": at,
            "lifecycle_hash": lifecycle,
            "idempotency_key": None,
            "rule_set_version": None,
            "batch_id": None,
        }
        typed = conn.execute(sa.select(events.c.occurred_at).order_by(events.c.seq.desc()).limit(1)).scalar()
        hashed = chain_hash(head, {**row, "occurred_at": typed, "recorded_at": typed})
        conn.execute(events.insert().values({**row, "occurred_at": typed, "recorded_at": typed, "hash": hashed}))
        conn.execute(sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h"), {"s": seq + 1, "h": hashed})
        conn.execute(
            sa.text("UPDATE cards SET state = :d, version = :v WHERE id = :c"), {"d": dest, "v": version, "c": card}
        )
    return seq + 1


def test_a_backdated_rule_activation_is_found(workflow: Workflow, engine: sa.Engine) -> None:
    kept = workflow.audit.checkpoint()
    sql(
        engine,
        "INSERT INTO rule_set_activations (seq, version, action, actor, reason, occurred_at) "
        "VALUES (-5, 1, 'apply', 'kadis', 'SE 2019', '2019-01-01 00:00:00+00')",
    )
    report = workflow.audit.verify(kept)
    assert not report.ok and report.problems[0].seq == -5
    caught(engine, "a backdated rule-set activation", "audit verify --against")


def test_an_edited_stored_rule_set_is_refused_on_use_and_found(workflow: Workflow, engine: sa.Engine) -> None:
    unprotect(engine, "rule_sets")
    sql(engine, "UPDATE rule_sets SET text = replace(text, 'first_time_first', 'longest_waiting_first')")
    from ektp_workflow.errors import RuleSetError

    with pytest.raises(RuleSetError, match="was altered: its text hashes to"):
        workflow.rules.active()
    report = workflow.audit.verify()
    assert not report.ok and report.problems[0].seq == -1  # the chain covers the text: verify names the row
    caught(engine, "a stored rule set edited", "use of the rule set, audit verify")


READERS = [
    ["card", "show", "NIK"],
    ["card", "history", "NIK"],
    ["audit", "history", "NIK"],
    ["audit", "explain", "NIK"],
    ["audit", "verify"],
    ["audit", "checkpoint"],
    ["audit", "replay"],
    ["blanks", "status"],
    ["blanks", "requests"],
    ["report", "coverage"],
    ["report", "backlog"],
    ["report", "stock"],
    ["rules", "show"],
    ["db", "current"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
def test_readers_never_wait_for_a_writer_on_sqlite(
    engine: sa.Engine, waiting: dict[str, list[str]], command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer holds SQLite's write lock (a long allocation): every read command answers
    at once, from the last committed state. (With the busy timeout cut to 0.2 s, one that
    asked for the lock would fail.)"""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers take no lock at all")
    import sqlite3

    from ektp_workflow._store import engine as engines

    monkeypatch.setattr(engines, "SQLITE_BUSY_TIMEOUT_MS", 200)
    writer = sqlite3.connect(str(engine.url.database), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE cards SET version = version WHERE id = 1")
    try:
        url = engine.url.render_as_string(hide_password=False)
        args = [waiting["first"][0] if word == "NIK" else word for word in command]
        result = CliRunner().invoke(cli, ["--db", url, *args])
        assert result.exit_code == 0, result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_blanks_status_sees_one_snapshot_while_writers_move_blanks(workflow: Workflow, engine: sa.Engine) -> None:
    """blanks status reads several tables: under writers, each read must come from one
    snapshot, or it reports problems that are not there."""
    import threading

    niks = queue(workflow, ITS, 60, 0)
    stop, failures = threading.Event(), []

    def write() -> None:
        writer = Workflow(engine)
        for round_ in range(20):
            writer.blanks.receive(f"R-{round_}", 3, actor=ACTOR)
            writer.blanks.distribute(f"R-{round_}", counts={ITS: 3}, actor=ACTOR)
            for applicant in writer.allocate(actor=ACTOR).chosen():
                writer.fire(applicant.nik, "print_card", actor=ACTOR)
        stop.set()

    thread = threading.Thread(target=write)
    thread.start()
    reads = 0
    while not stop.is_set() or reads == 0:
        problems = workflow.blanks.problems()
        if problems:
            failures.append(problems)
        reads += 1
    thread.join()
    assert failures == [] and reads > 1 and len(niks) == 60
    assert workflow.audit.compare() == []
