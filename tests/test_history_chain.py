"""One chain for everything that changes: the ledger's entries, rule sets, their
activations and allocation runs are chained with the events, and tampering with any of
them is found at its sequence number, also against a kept checkpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ektp_workflow import FireRequest, Workflow, create_engine, upgrade
from ektp_workflow._store import history
from ektp_workflow._store.chain import ENTRY_FIELDS, GENESIS, HASHED_FIELDS, chain_hash, entry_hash
from ektp_workflow._store.schema import APPEND_ONLY, REVISION

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident
from .tampering import rewrite_chain
from .test_allocation import queue

ACTOR = "gudang"
RULES = """name = "2020 circular"
[split]
rule = "equal"
[[queue]]
rule = "longest_waiting_first"
"""


@pytest.fixture
def ledger(workflow: Workflow, tmp_path: Path) -> dict[str, int]:
    """A city's history with every kind of entry: a monthly quota, a request to the centre
    answered by the batch received, blanks distributed, spoiled, borrowed and lent,
    reserved by an allocation run, consumed by printing; rules applied and rolled back."""
    queue(workflow, ITS, 3, 1)
    workflow.blanks.set_quota("2026-12", 500, reference="SE 471.13/6153", actor=ACTOR)
    workflow.blanks.request(1, reference="470/1/2026", actor=ACTOR)
    workflow.blanks.receive("KEMENDAGRI-1", 10, actor=ACTOR, request="470/1/2026")
    workflow.blanks.distribute("KEMENDAGRI-1", counts={ITS: 6, SAKO: 2}, actor=ACTOR)
    workflow.blanks.borrow(3, lender="16.07", reference="OKI-1", actor=ACTOR)
    workflow.blanks.lend(2, to="16.08", reference="LOAN-1", actor=ACTOR)
    workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="ribbon jam")
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    workflow.rules.apply(rules, actor="dinas/kadis", reason="SE 2020")
    workflow.rules.rollback(1, actor="dinas/kadis", reason="withdrawn")
    plan = workflow.allocate(actor="dinas/kabid")
    workflow.fire(plan.chosen()[0].nik, "print_card", actor="kec-05/printer")
    assert workflow.audit.verify(workflow.audit.checkpoint()).ok
    return seqs(workflow)


def seqs(workflow: Workflow) -> dict[str, int]:
    """The sequence number of the last entry of each kind and movement."""
    with workflow._store.reading() as conn:
        found = {
            f"blank {movement}": conn.scalar(
                sa.text(f"SELECT max(seq) FROM blank_entries WHERE movement = '{movement}'")
            )
            for movement in ("distributed", "spoiled", "reserved", "consumed", "lent", "borrowed")
        }
        found["blank received"] = conn.scalar(sa.text("SELECT min(seq) FROM blank_entries WHERE movement = 'received'"))
        found["quota"] = conn.scalar(sa.text("SELECT max(seq) FROM blank_quotas"))
        found["request"] = conn.scalar(sa.text("SELECT max(seq) FROM blank_requests"))
        found["activation"] = conn.scalar(sa.text("SELECT max(seq) FROM rule_set_activations"))
        found["rule set"] = conn.scalar(sa.text("SELECT max(seq) FROM rule_sets"))
        found["run"] = conn.scalar(sa.text("SELECT max(seq) FROM allocation_runs"))
    return found


def unprotect(engine: sa.Engine, *tables: str) -> None:
    """What an administrator with full access can do: switch the append-only triggers off."""
    with engine.begin() as conn:
        for table in tables:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for action in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def tamper(engine: sa.Engine, *statements: str) -> None:
    unprotect(engine, *APPEND_ONLY)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_every_change_of_stock_or_rules_moves_the_checkpoint(workflow: Workflow, tmp_path: Path) -> None:
    queue(workflow, ITS, 1, 0)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    steps = [
        lambda: workflow.blanks.receive("B-1", 5, actor=ACTOR),
        lambda: workflow.blanks.distribute("B-1", counts={ITS: 3}, actor=ACTOR),
        lambda: workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="jam"),
        lambda: workflow.rules.apply(rules, actor=ACTOR, reason="SE 2020"),
        lambda: workflow.rules.rollback(1, actor=ACTOR, reason="withdrawn"),
        lambda: workflow.allocate(actor=ACTOR),
    ]
    checkpoints = [workflow.audit.checkpoint()]
    for step in steps:
        step()
        checkpoints.append(workflow.audit.checkpoint())
    assert len({seq for seq, _ in checkpoints}) == len(checkpoints), checkpoints
    report = workflow.audit.verify(checkpoints[0])
    # the schema's two, the resident's data, then each step's
    assert report.ok and report.entries == 2 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1


def _auditors_hash(previous: str, values: list[Any]) -> str:
    """The chain's encoding as docs/auditor.md states it, written without the engine's code:
    SHA-256 of the previous hash, a newline and a JSON array of the row's values (an entry's
    kind first), without spaces or ASCII escapes, times in UTC with microseconds and a Z,
    dates in ISO form."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.isoformat() if isinstance(value, dt.date) else value

    if isinstance(values[0], str):  # an entry: fields added later count up to the last one given
        while len(values) > len(ENTRY_FIELDS[values[0]]) + 1 and values[-1] is None:
            values = values[:-1]
    text = json.dumps([plain(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()


def test_an_auditor_recomputes_every_hash_from_the_documented_encoding(
    workflow: Workflow, ledger: dict[str, int]
) -> None:
    """Every kind of row, events and entries, hashes as documented: an auditor's own
    program can check the chain without this engine."""
    workflow.correct(
        workflow.list_cards(limit=1).cards[0].nik, name="Nama Baru", actor=ACTOR, reason="x", evidence="KK"
    )
    printed = workflow.list_cards(states=["printed"]).cards[0].nik
    workflow.fire(printed, "collect", actor=ACTOR)
    workflow.replace(printed, "damaged", surrendered=True, reference="TT-1", actor=ACTOR)
    workflow.reprint(workflow.list_cards(states=["allocated"]).cards[0].nik, actor=ACTOR, reason="jam")
    with workflow._store.reading() as conn:
        rows = [(row.seq, list(row[:-1]), row.hash) for row in history.hashed(conn)]
        rows += [(e.seq, [e.kind, *e.values], e.chain_hash) for e in history.entries(conn)]
    assert any(values[-1] == "KK" for _, values, _ in rows), "an entry with evidence"
    kinds = {values[0] for _, values, _ in rows if isinstance(values[0], str)}
    assert kinds == set(ENTRY_FIELDS), "the history holds every kind of entry"
    assert len(HASHED_FIELDS) == len(rows[0][1])
    previous = GENESIS
    for seq, values, stored in sorted(rows, key=lambda r: r[0]):
        previous = _auditors_hash(previous, values)
        assert previous == stored, f"row {seq} ({values[0]})"
    assert workflow.audit.checkpoint() == (max(seq for seq, _, _ in rows), previous)


@pytest.mark.parametrize(
    ("statement", "kind", "words"),
    [
        ("UPDATE blank_entries SET quantity = quantity + 5 WHERE seq = {blank spoiled}", "blank spoiled", "edited"),
        ("UPDATE blank_entries SET kecamatan = '16.71.08' WHERE seq = {blank reserved}", "blank reserved", "edited"),
        ("UPDATE blank_entries SET actor = 'nobody' WHERE seq = {blank consumed}", "blank consumed", "edited"),
        ("UPDATE blank_batches SET reference = 'FORGED' WHERE reference = 'KEMENDAGRI-1'", "blank received", "edited"),
        ("UPDATE blank_batches SET received_on = '2000-01-01'", "blank received", "edited"),
        ("UPDATE rule_set_activations SET actor = 'someone else' WHERE seq = {activation}", "activation", "edited"),
        (
            "UPDATE rule_set_activations SET occurred_at = '2000-01-01 00:00:00' WHERE seq = {activation}",
            "activation",
            "edited",
        ),
        ("UPDATE rule_sets SET created_by = 'someone else' WHERE seq = {rule set}", "rule set", "edited"),
        ("UPDATE allocation_runs SET day = '2000-01-01' WHERE seq = {run}", "run", "edited"),
        ("UPDATE allocation_queue SET had_ektp = NOT had_ektp", "run", "recorded queue or stock was changed"),
        ("UPDATE allocation_stock SET blanks = blanks + 1", "run", "recorded queue or stock was changed"),
        ("UPDATE blank_batches SET request = NULL WHERE reference = 'KEMENDAGRI-1'", "blank received", "edited"),
        ("UPDATE blank_entries SET counterpart = '16.10' WHERE seq = {blank lent}", "blank lent", "edited"),
        ("UPDATE blank_entries SET counterpart_reference = 'X' WHERE seq = {blank lent}", "blank lent", "edited"),
        ("UPDATE blank_entries SET counterpart = '16.10' WHERE seq = {blank borrowed}", "blank borrowed", "edited"),
        ("UPDATE blank_batches SET reference = 'X' WHERE reference = 'OKI-1'", "blank borrowed", "edited"),
        ("UPDATE blank_quotas SET quantity = 5000 WHERE seq = {quota}", "quota", "edited"),
        ("UPDATE blank_requests SET quantity = quantity + 100 WHERE seq = {request}", "request", "edited"),
        ("UPDATE blank_requests SET waiting_first_time = 99 WHERE seq = {request}", "request", "edited"),
    ],
    ids=[
        "spoiled",
        "reserved",
        "consumed",
        "reference",
        "received-on",
        "activation",
        "activation-time",
        "rule-set",
        "run",
        "run-queue",
        "run-stock",
        "answered-request",
        "lent-to",
        "lent-document",
        "borrowed-from",
        "borrowed-reference",
        "quota",
        "request",
        "request-figures",
    ],
)
def test_an_edited_entry_is_found_at_its_sequence_number(
    workflow: Workflow, engine: sa.Engine, ledger: dict[str, int], statement: str, kind: str, words: str
) -> None:
    tamper(engine, statement.format(**ledger))
    report = workflow.audit.verify()
    assert not report.ok
    assert report.problems[0].seq == ledger[kind], report.problems
    assert words in report.problems[0].what


@pytest.mark.parametrize(
    ("table", "kind"),
    [
        ("blank_entries", "blank spoiled"),
        ("blank_entries", "blank lent"),
        ("rule_set_activations", "activation"),
        ("blank_quotas", "quota"),
        ("blank_requests", "request"),
    ],
)
def test_a_deleted_entry_is_found_where_the_sequence_breaks(
    workflow: Workflow, engine: sa.Engine, ledger: dict[str, int], table: str, kind: str
) -> None:
    victim = ledger[kind]
    tamper(engine, f"DELETE FROM {table} WHERE seq = {victim}")
    report = workflow.audit.verify()
    assert report.problems[0].seq == victim + 1
    assert f"{victim}..{victim} were deleted" in report.problems[0].what


def test_two_entries_swapped_are_found(workflow: Workflow, engine: sa.Engine, ledger: dict[str, int]) -> None:
    first = ledger["blank distributed"] - 1  # the batch was shared between two kecamatan
    tamper(
        engine,
        f"UPDATE blank_entries SET seq = -100 WHERE seq = {first}",
        f"UPDATE blank_entries SET seq = {first} WHERE seq = {first + 1}",
        f"UPDATE blank_entries SET seq = {first + 1} WHERE seq = -100",
    )
    report = workflow.audit.verify()
    assert report.problems[0].seq == first and "edited, inserted or moved" in report.problems[0].what


def test_an_entry_inserted_after_the_head_is_found(
    workflow: Workflow, engine: sa.Engine, ledger: dict[str, int]
) -> None:
    head_seq, head_hash = workflow.audit.checkpoint()
    forged = {
        "seq": head_seq + 1,
        "batch_id": 1,
        "reference": None,
        "received_on": None,
        "kecamatan": ITS,
        "movement": "distributed",
        "quantity": 50,
        "card_id": None,
        "card_version": None,
        "actor": ACTOR,
        "reason": None,
        "occurred_at": "2026-01-01 00:00:00.000000",
        "counterpart": None,
        "counterpart_reference": None,
        "request": None,
    }
    values = [_time(forged[f]) if f == "occurred_at" else forged[f] for f in ENTRY_FIELDS["blank_entry"]]
    forged["chain_hash"] = entry_hash(head_hash, "blank_entry", values)
    columns = [c for c in forged if c not in ("reference", "received_on", "request")]
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO blank_entries ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
            {c: forged[c] for c in columns},
        )
    report = workflow.audit.verify()
    assert "added outside the engine" in report.problems[0].what


def test_a_tail_of_entries_deleted_with_the_chain_head_is_found_against_a_kept_checkpoint(
    workflow: Workflow, engine: sa.Engine, ledger: dict[str, int]
) -> None:
    kept = workflow.audit.checkpoint()
    last_event = _last_event(engine)
    tamper(engine, f"DELETE FROM blank_entries WHERE seq > {last_event[0]}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h"), {"s": last_event[0], "h": last_event[1]}
        )
    assert workflow.audit.verify().ok, "consistent in itself ..."
    report = workflow.audit.verify(kept)
    assert [p.seq for p in report.problems] == [kept[0]] and "missing" in report.problems[0].what


def test_a_history_rewritten_from_an_edited_entry_is_found_against_a_kept_checkpoint(
    workflow: Workflow, engine: sa.Engine, ledger: dict[str, int]
) -> None:
    kept = workflow.audit.checkpoint()
    tamper(engine, f"UPDATE blank_entries SET quantity = 2 WHERE seq = {ledger['blank spoiled']}")
    rewrite_chain(engine)
    assert workflow.audit.verify().ok, "a full rewrite is consistent in itself ..."
    report = workflow.audit.verify(kept)
    assert not report.ok and "differs from the checkpoint kept" in report.problems[0].what
    assert report.problems[0].seq == kept[0]


def test_a_database_of_the_previous_revision_upgrades_in_place_and_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        upgrade(engine, "0006")
        _history_as_revision_0006_wrote_it(engine)
        assert upgrade(engine) == REVISION
        workflow = Workflow(engine)
        report = workflow.audit.verify()
        assert report.ok, report.problems
        # its events; the default rules, the batch received, the resident's data as found
        assert (report.checked, report.entries) == (2, 2 + 1 + 1)
        assert workflow.audit.checkpoint()[0] == 2 + 4  # the entries chained after the last event
        assert workflow.audit.compare() == []  # the name's search key too (0009 fills it)
        assert [c.name for c in workflow.list_cards(name="SITI").cards] == ["Siti"]
        workflow.blanks.distribute("OLD-1", counts={ITS: 3}, actor=ACTOR)
        assert workflow.audit.verify().ok and workflow.blanks.problems() == []
    finally:
        engine.dispose()


def _history_as_revision_0006_wrote_it(engine: sa.Engine) -> None:
    """A resident with two events (chained without entries, as before), a batch received."""
    resident = make_resident()
    at = "2026-11-01 08:00:00.000000"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO residents (id, nik, name, kecamatan, birth_date, sex, had_ektp, registered_at) "
                "VALUES (1, :nik, 'Siti', :k, '1990-05-17', 'M', 0, :at)"
            ),
            {"nik": resident.nik, "k": ITS, "at": at},
        )
        conn.execute(
            sa.text("INSERT INTO cards (id, state, version, updated_at) VALUES (1, 'recorded', 2, :at)"), {"at": at}
        )
        previous = GENESIS
        for seq, (trigger, source, dest) in enumerate(
            [("register", None, "unrecorded"), ("record", "unrecorded", "recorded")], 1
        ):
            row = {
                "seq": seq,
                "card_id": 1,
                "version": seq,
                "trigger": trigger,
                "from_state": source,
                "to_state": dest,
                "actor": ACTOR,
                "reason": None,
                "occurred_at": at,
                "recorded_at": at,
                "lifecycle_hash": _shipped_hash(),
                "idempotency_key": None,
                "rule_set_version": None,
                "batch_id": None,
            }
            previous = chain_hash(previous, {**row, "occurred_at": _time(at), "recorded_at": _time(at)})
            conn.execute(
                sa.text(
                    f"INSERT INTO events ({', '.join(row)}, hash) VALUES ({', '.join(':' + c for c in row)}, :hash)"
                ),
                {**row, "hash": previous},
            )
        conn.execute(sa.text("UPDATE event_chain SET last_seq = 2, last_hash = :h"), {"h": previous})
        conn.execute(
            sa.text("INSERT INTO lifecycles (hash, name, definition, first_used_at) VALUES (:h, 'old', :d, :at)"),
            {"h": _shipped_hash(), "d": _shipped_definition(), "at": at},
        )
        conn.execute(
            sa.text(
                "INSERT INTO blank_batches (id, reference, received, undistributed, received_on) "
                "VALUES (1, 'OLD-1', 5, 5, '2026-11-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO blank_entries (seq, batch_id, movement, quantity, actor, occurred_at) "
                "VALUES (1, 1, 'received', 5, :a, :at)"
            ),
            {"a": ACTOR, "at": at},
        )


def _shipped_hash() -> str:
    from ektp_workflow._services.lifecycle import default_lifecycle

    return default_lifecycle().hash


def _shipped_definition() -> str:
    from ektp_workflow import default_lifecycle
    from ektp_workflow._store.lifecycles import definition_json

    return definition_json(default_lifecycle())


def _time(text: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _last_event(engine: sa.Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        seq, hash_ = conn.execute(sa.text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")).one()
    return seq, hash_


def test_allocation_events_and_their_blank_entries_are_chained_in_order(
    workflow: Workflow, ledger: dict[str, int]
) -> None:
    """A transition's ledger entry takes the place right after its event."""
    with workflow._store.reading() as conn:
        pairs = conn.execute(
            sa.text(
                "SELECT e.seq, b.seq FROM events e JOIN blank_entries b ON b.card_id = e.card_id AND b.card_version = e.version"
            )
        ).all()
    assert pairs and all(entry == event + 1 for event, entry in pairs)


@pytest.mark.parametrize("cards", [3, 60])  # a few entries are inserted one by one, many at once
def test_bulk_printing_chains_each_consumed_blank(workflow: Workflow, cards: int) -> None:
    niks = queue(workflow, ITS, cards, 0)
    workflow.blanks.receive("B-9", cards, actor=ACTOR)
    workflow.blanks.distribute("B-9", counts={ITS: cards}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    before = workflow.audit.checkpoint()[0]
    result = workflow.bulk_fire("print_card", actor=ACTOR, where_state="allocated")
    assert result.total_applied == cards
    assert workflow.audit.checkpoint()[0] == before + 2 * cards  # an event and a consumed blank each
    report = workflow.audit.verify()
    assert report.ok and workflow.blanks.problems() == [] and workflow.audit.compare() == []
    assert {workflow.card(n).state for n in niks} == {"printed"}
    workflow.fire_many([FireRequest(n, "collect") for n in niks], actor=ACTOR)
    assert workflow.audit.verify().ok
