"""Bulk transitions and the centre's results: same rules as one card, chunked, resumable."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import FireRequest, Workflow, create_engine, upgrade
from ektp_workflow._store import chunks
from ektp_workflow._store.chain import GENESIS, HASHED_FIELDS, chain, chain_hash
from ektp_workflow._store.schema import events
from ektp_workflow.cli.main import cli
from ektp_workflow.errors import InputFileError

from .conftest import first_link, snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident
from .tampering import row_hashes

ACTOR = "kec-05/op"
AT = dt.datetime(2026, 11, 2, 9, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def city(workflow: Workflow, adults: int = 12, children: int = 3) -> list[str]:
    today = dt.date.today()
    people = [make_resident(ITS if i % 2 else SAKO) for i in range(adults)]
    people += [make_resident(ITS, born=today.replace(year=today.year - 14)) for _ in range(children)]
    workflow.register(people, actor=ACTOR, at=AT - dt.timedelta(days=1))
    return [p.nik for p in people]


def comparable(workflow: Workflow, niks: list[str]) -> list[object]:
    cards = [(c.nik, c.state, c.version) for c in (workflow.card(n) for n in niks)]
    events = [
        (e.nik, e.version, e.trigger, e.from_state, e.to_state, e.actor, e.reason, e.occurred_at)
        for n in niks
        for e in workflow.history(n)
    ]
    return [cards, events]


def test_bulk_and_single_paths_give_the_same_states_and_events(tmp_path: Path, db_url: str) -> None:
    single_engine, bulk_engine = create_engine(f"sqlite:///{tmp_path / 'single.db'}"), create_engine(db_url)
    upgrade(single_engine), upgrade(bulk_engine)
    single, many = Workflow(single_engine), Workflow(bulk_engine)
    residents = [make_resident(ITS if i % 2 else SAKO) for i in range(9)]
    for workflow in (single, many):
        workflow.register(residents, actor=ACTOR, at=AT - dt.timedelta(days=1))
    niks = [r.nik for r in residents]
    for trigger, state in (("record", "unrecorded"), ("submit", "recorded")):
        for nik in niks:
            single.fire(nik, trigger, actor=ACTOR, reason="weekly run", at=AT)
        many.bulk_fire(trigger, actor=ACTOR, where_state=state, reason="weekly run", at=AT)
    assert comparable(single, niks) == comparable(many, niks)
    assert many.audit.verify().ok and many.audit.compare() == []
    single_engine.dispose(), bulk_engine.dispose()


def test_guards_apply_in_bulk_and_refused_cards_are_listed(workflow: Workflow) -> None:
    niks = city(workflow, adults=4, children=2)
    result = workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded")
    assert result.applied["record"] == 4 and result.skipped == 2
    assert all("age_at_least_16" in why for _, why in result.examples)
    assert [workflow.card(n).state for n in niks[4:]] == ["unrecorded", "unrecorded"]


def test_a_kecamatan_and_a_limit_narrow_the_selection(workflow: Workflow) -> None:
    city(workflow, adults=10, children=0)
    result = workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", kecamatan="167105", limit=3)
    assert result.total_applied == 3
    recorded = workflow.cards(state="recorded")
    assert len(recorded) == 3 and {c.kecamatan for c in recorded} == {ITS}


def test_dry_run_counts_and_writes_nothing(workflow: Workflow, engine: sa.Engine) -> None:
    city(workflow)
    before = snapshot(engine)
    result = workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", dry_run=True)
    assert (result.total_applied, result.skipped) == (12, 3)
    assert snapshot(engine) == before


class Interrupted(KeyboardInterrupt):
    pass


def interrupt_after(chunks: int):  # type: ignore[no-untyped-def]
    seen = []

    def progress(n: int) -> None:
        seen.append(n)
        if len(seen) == chunks:
            raise Interrupted()

    return progress


@pytest.mark.parametrize("limit", [None, 9])
def test_an_interrupted_job_resumes_and_moves_no_card_twice(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    monkeypatch.setattr(chunks, "CHUNK", 4)
    niks = city(workflow, adults=12, children=0)
    with pytest.raises(Interrupted):
        workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", limit=limit, progress=interrupt_after(1))
    assert len(workflow.cards(state="recorded")) == 4
    result = workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", limit=limit)
    assert result.resumed and result.done_before == 4
    assert len(workflow.cards(state="recorded")) == (limit or 12)
    for nik in niks:
        assert [e.trigger for e in workflow.history(nik)].count("record") <= 1
    assert workflow.audit.compare() == []


def test_a_file_of_niks_with_reasons(workflow: Workflow, tmp_path: Path) -> None:
    niks = city(workflow, adults=3, children=0)
    path = tmp_path / "deaths.csv"
    path.write_text(f"nik,reason\n{niks[0]},akta kematian 12/2026\n{niks[1]},\n", encoding="utf-8")
    result = workflow.bulk_fire("die", actor=ACTOR, niks_file=path, reason="laporan RT")
    assert result.applied["die"] == 2
    assert workflow.history(niks[0])[-1].reason == "akta kematian 12/2026"
    assert workflow.history(niks[1])[-1].reason == "laporan RT"
    again = workflow.bulk_fire("die", actor=ACTOR, niks_file=path)
    assert (again.total_applied, again.done_before) == (0, 2)


def central_file(tmp_path: Path, rows: list[str], name: str = "hasil.csv") -> Path:
    path = tmp_path / name
    path.write_text("nik,result,reference\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def in_prr(workflow: Workflow) -> list[str]:
    niks = city(workflow, adults=5, children=0)
    workflow.fire_many([FireRequest(n, t) for n in niks[:4] for t in ("record", "submit")], actor=ACTOR)
    return niks


def test_central_results_apply_to_cards_in_prr_and_report_the_rest(
    workflow: Workflow, tmp_path: Path, in_prr: list[str]
) -> None:
    path = central_file(
        tmp_path,
        [
            f"{in_prr[0]},single,PEN-1",
            f"{in_prr[1]},duplicate,PEN-2",
            f"{in_prr[2]},ENROLL_FAILURE,PEN-3",
            f"{in_prr[4]},single,PEN-5",
        ],
    )
    result = workflow.import_central_results(path, actor="siak-sync")
    assert dict(result.applied) == {"confirm_single": 1, "flag_duplicate": 1, "reject_enrollment": 1}
    assert result.examples == [(in_prr[4], "not in prr (it is unrecorded): not applied")]
    states = [workflow.card(n).state for n in in_prr]
    assert states == ["deduplicated", "duplicate", "enroll_failed", "prr", "unrecorded"]
    assert workflow.history(in_prr[1])[-1].reason == "central result: duplicate, reference PEN-2"


def test_reimporting_the_same_results_applies_nothing_twice(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, in_prr: list[str]
) -> None:
    path = central_file(tmp_path, [f"{n},single," for n in in_prr[:4]])
    workflow.import_central_results(path, actor="siak-sync")
    events_before = snapshot(engine)["events"]
    again = workflow.import_central_results(path, actor="siak-sync")
    assert (again.total_applied, again.done_before, again.skipped) == (0, 4, 0)
    assert snapshot(engine)["events"] == events_before


def test_a_results_file_with_a_bad_line_is_refused_whole(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, in_prr: list[str]
) -> None:
    path = central_file(
        tmp_path, [f"{in_prr[0]},single,", "1671050000000000,single,", f"{in_prr[1]},lost,", f"{in_prr[0]},duplicate,"]
    )
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        workflow.import_central_results(path, actor="siak-sync")
    assert [p.line for p in refused.value.problems] == [3, 4, 5]
    assert "expected single, duplicate, enroll_failure" in str(refused.value)
    assert snapshot(engine) == before


def test_bulk_and_central_from_the_cli(db_url: str, workflow: Workflow, tmp_path: Path, in_prr: list[str]) -> None:
    fired = CliRunner().invoke(
        cli, ["--db", db_url, "--actor", ACTOR, "bulk", "fire", "record", "--where-state", "unrecorded", "--json"]
    )
    assert fired.exit_code == 0 and json.loads(fired.stdout)["applied"] == {"record": 1}
    path = central_file(tmp_path, [f"{in_prr[0]},single,"])
    imported = CliRunner().invoke(cli, ["--db", db_url, "--actor", "siak", "central", "import", str(path)])
    assert imported.exit_code == 0 and "moved 1 by confirm_single" in imported.stdout
    usage = CliRunner().invoke(cli, ["--db", db_url, "--actor", ACTOR, "bulk", "fire", "record"])
    assert usage.exit_code == 2 and "--where-state STATE or --file" in usage.stderr
    refused = CliRunner().invoke(
        cli, ["--db", db_url, "--actor", ACTOR, "bulk", "fire", "print_card", "--where-state", "recorded"]
    )
    assert refused.exit_code == 3


def test_every_event_hash_is_the_canonical_one_whatever_path_wrote_it(workflow: Workflow, engine: sa.Engine) -> None:
    """Bulk appends reuse the encoding of the fields events share; the hash must not change."""
    niks = city(workflow, adults=7, children=0)
    workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", reason='Surat Edaran № 471/ü "kutip"', at=AT)
    workflow.bulk_fire("submit", actor="kec-05/другой", where_state="recorded", at=AT)
    workflow.fire(niks[0], "confirm_single", actor=ACTOR, reason="ruang\ttab", idempotency_key="k-1")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
        hashes = {0: first_link(conn), **row_hashes(conn)}
    for row in rows:  # each chained to the event or entry before it
        assert row["hash"] == chain_hash(hashes[row["seq"] - 1], {f: row[f] for f in HASHED_FIELDS}), row["seq"]
    assert len(rows) == 7 * 3 + 1


def test_a_results_file_repeating_a_nik_chunks_later_is_refused(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, in_prr: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check keeps the NIKs met in a temporary table, not in memory: a repeat far apart is found."""
    monkeypatch.setattr(chunks, "CHUNK", 2)
    rows = [f"{in_prr[0]},single,", f"{in_prr[1]},single,", f"{in_prr[2]},single,", f"{in_prr[0]},duplicate,"]
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        workflow.import_central_results(central_file(tmp_path, rows), actor="siak-sync")
    assert [(p.line, p.reason) for p in refused.value.problems] == [(5, f"NIK {in_prr[0]} already appears on line 2")]
    assert snapshot(engine) == before


def test_a_file_of_many_bad_lines_keeps_the_first_thousand_and_counts_all(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "niks.csv"  # 0000 is no serial: every line is bad
    path.write_text("nik\n" + "".join(f"16710501019{i:01d}0000\n" for i in range(10)) * 250, encoding="utf-8")
    with pytest.raises(InputFileError) as refused:
        workflow.bulk_fire("record", actor=ACTOR, niks_file=path)
    assert refused.value.count == 2500
    assert [p.line for p in refused.value.problems] == list(range(2, 1002))
    assert "2,500 bad lines" in str(refused.value) and "... and 2,300 more" in str(refused.value)


def test_the_chain_hashes_every_row_as_chain_hash_does_whatever_its_values() -> None:
    """Rows whose shared fields are equal but of other types, or times of a zone with folds."""
    new_york = ZoneInfo("America/New_York")
    night = dt.datetime(2021, 11, 7, 1, 30, tzinfo=new_york)  # the clocks go back: two 01:30
    base = {
        "card_id": 7,
        "version": 2,
        "trigger": "submit",
        "from_state": "recorded",
        "to_state": "prr",
        "actor": "op",
        "reason": None,
        "occurred_at": AT,
        "lifecycle_hash": "h" * 64,
        "idempotency_key": None,
        "rule_set_version": None,
        "batch_id": "b",
    }
    variants = [
        {"rule_set_version": 1},
        {"rule_set_version": True},
        {"rule_set_version": 1.0},
        {"batch_id": 0},
        {"batch_id": False},
        {"reason": 'Surat № 5 "x"\n'},
        {"reason": "\u2028"},
        {"occurred_at": night},
        {"occurred_at": night.replace(fold=1)},
        {"card_id": True},
        {},
    ]
    rows = [{**base, **variant} for variant in variants]
    written = dt.datetime(2026, 11, 29, 1, tzinfo=dt.UTC)
    seq, last = chain(rows, 41, GENESIS, written)
    previous = GENESIS
    for row in rows:
        assert row["hash"] == chain_hash(previous, row), row
        previous = row["hash"]
    assert (seq, last) == (41 + len(rows), previous)
    assert rows[7]["hash"] != rows[8]["hash"]


def test_cards_whose_last_event_is_after_the_bulk_time_are_skipped_wherever_they_fall(
    workflow: Workflow, engine: sa.Engine
) -> None:
    """Cards registered before, after, and again before the bulk time, in id order."""
    batches = [[make_resident(ITS) for _ in range(3)] for _ in range(3)]
    for people, at in zip(batches, (AT - dt.timedelta(days=1), AT + dt.timedelta(hours=1), AT - dt.timedelta(days=2))):
        workflow.register(people, actor=ACTOR, at=at)
    before = snapshot(engine)
    result = workflow.bulk_fire("record", actor=ACTOR, where_state="unrecorded", at=AT)
    assert result.total_applied == 6 and result.skipped == 3
    later = {p.nik for p in batches[1]}
    assert {nik for nik, _ in result.examples} == later
    assert all("is after 2026-11-02T09:00:00+07:00" in reason for _, reason in result.examples)
    assert {workflow.card(p.nik).state for people in (batches[0], batches[2]) for p in people} == {"recorded"}
    assert {workflow.card(nik).state for nik in later} == {"unrecorded"}
    assert snapshot(engine) != before
