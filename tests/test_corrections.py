"""Corrections of residents' data (``Workflow.correct``, ``ektp residents correct``):
history from their first line, what they imply at once, and every refusal clean."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from click.testing import Result

from ektp_workflow import FireRequest, ResidentRecord, Workflow
from ektp_workflow.errors import CardNotFound, TransitionNotAllowed, WorkflowError

from .conftest import consistent, run_cli
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_nik, make_resident
from .test_allocation import queue
from .test_history_chain import tamper

ACTOR = "kec-05/op-1"


def run(db_url: str, *args: str) -> Result:
    return run_cli(db_url, ACTOR, *args)


def test_a_corrected_name_is_one_entry_with_before_after_reason_and_evidence(db_url: str, workflow: Workflow) -> None:
    resident = make_resident(name="Budi Purnomo")
    workflow.register([resident], actor=ACTOR)
    head = workflow.audit.checkpoint()
    result = run(
        db_url,
        "residents",
        "correct",
        resident.nik,
        "--name",
        "Budi Purnomo S.",
        "--reason",
        "salah ketik nama",
        "--evidence",
        "KK 1671050101090001",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "name: Budi Purnomo -> Budi Purnomo S."
    assert workflow.card(resident.nik).name == "Budi Purnomo S."
    assert workflow.audit.checkpoint()[0] == head[0] + 1  # one entry, no card event
    assert workflow.history(resident.nik)[-1].trigger == "register"
    versions = workflow.audit.resident_history(resident.nik)
    assert [(v.change, v.data["name"], v.reason, v.evidence, v.actor) for v in versions] == [
        ("registered", "Budi Purnomo", "line 1 of residents", None, ACTOR),
        ("corrected", "Budi Purnomo S.", "salah ketik nama", "KK 1671050101090001", ACTOR),
    ]
    assert [c.nik for c in workflow.list_cards(name="purnomo s").cards] == [resident.nik]
    shown = run(db_url, "audit", "history", resident.nik).output
    assert "name: Budi Purnomo -> Budi Purnomo S." in shown and "KK 1671050101090001" in shown
    as_json = json.loads(run(db_url, "residents", "history", resident.nik, "--json").output)
    assert as_json[1]["data"]["name"] == "Budi Purnomo S." and as_json[1]["evidence"] == "KK 1671050101090001"
    consistent(workflow)


def test_a_waiting_card_moves_to_the_new_kecamatans_queue_keeping_its_waiting_time(workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    before = workflow.list_cards(order="queue", kecamatan=ITS).cards[0]
    done = workflow.correct(nik, kecamatan=SAKO, actor=ACTOR, reason="alamat salah di SIAK")
    assert done.changes == {"kecamatan": (ITS, SAKO)} and done.released is None
    assert workflow.list_cards(order="queue", kecamatan=ITS).cards == []
    moved = workflow.list_cards(order="queue", kecamatan=SAKO).cards
    assert [c.nik for c in moved] == [nik] and moved[0].updated_at == before.updated_at
    consistent(workflow)


def test_a_blank_reserved_at_the_old_kecamatan_is_released_in_the_same_transaction(workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    workflow.blanks.receive("B-1", 1, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 1}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    assert workflow.card(nik).state == "allocated"
    done = workflow.correct(nik, kecamatan=SAKO, actor=ACTOR, reason="salah kecamatan", evidence="KK 1671080202")
    assert done.released is not None and done.released.trigger == "release"
    assert done.released.seq < done.seq  # the release, then the entry, in one transaction
    card = workflow.card(nik)
    assert (card.state, card.kecamatan) == ("deduplicated", SAKO)
    stock = {(line.kecamatan, line.unallocated, line.reserved) for line in workflow.blanks.stock() if line.kecamatan}
    assert stock == {(ITS, 1, 0)}  # the blank went back to the old kecamatan's stock
    consistent(workflow)


def test_a_birth_date_settles_the_century_and_the_card_can_then_be_recorded(workflow: Workflow) -> None:
    nik = make_nik(ITS, dt.date(1925, 3, 4))  # 101 years old: the NIK's year reads 2025
    workflow.register([ResidentRecord(nik, "Mbah Sarinah", ITS)], actor=ACTOR)
    assert workflow.card(nik).birth_date == dt.date(2025, 3, 4)
    with pytest.raises(TransitionNotAllowed):
        workflow.fire(nik, "record", actor=ACTOR)
    workflow.correct(nik, birth_date=dt.date(1925, 3, 4), actor=ACTOR, reason="akta kelahiran", evidence="AL 12/1925")
    assert workflow.fire(nik, "record", actor=ACTOR).to_state == "recorded"
    consistent(workflow)


def test_a_birth_date_that_fails_an_age_guard_the_card_passed_is_refused(workflow: Workflow) -> None:
    nik = make_nik(ITS, dt.date(1912, 6, 1))
    workflow.register([ResidentRecord(nik, "Kakek Umar", ITS, birth_date=dt.date(1912, 6, 1))], actor=ACTOR)
    workflow.fire(nik, "record", actor=ACTOR)
    head = workflow.audit.checkpoint()
    with pytest.raises(WorkflowError, match=r"the resident was 1[34] when the card was recorded .* requires 16"):
        workflow.correct(nik, birth_date=dt.date(2012, 6, 1), actor=ACTOR, reason="x")
    assert workflow.audit.checkpoint() == head


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--reason", "x"], "nothing to correct"),
        (["--name", "Siti", "--reason", "  "], "a correction needs a reason"),
        (["--kecamatan", "16.07.01", "--reason", "x"], "outside Kota Palembang (16.71)"),
        (["--kecamatan", "99.99.99", "--reason", "x"], "invalid kecamatan '99.99.99'"),
        (["--birth-date", "1990-05-18", "--reason", "x"], "does not match the NIK's date digits"),
        (["--name", "Siti\x1b[2J", "--reason", "x"], "control character"),
        (["--name", "Siti", "--reason", "x", "--evidence", "KK\u202e1"], "evidence"),
        (["--name", "Siti"], "Missing option '--reason'"),
    ],
)
def test_a_refused_correction_names_the_problem_and_changes_nothing(
    db_url: str, workflow: Workflow, args: list[str], words: str
) -> None:
    resident = make_resident(name="Siti Aminah")
    workflow.register([resident], actor=ACTOR)
    head = workflow.audit.checkpoint()
    result = run(db_url, "residents", "correct", resident.nik, *args)
    assert result.exit_code != 0
    assert words in result.output
    assert workflow.audit.checkpoint() == head and workflow.card(resident.nik).name == "Siti Aminah"


def test_a_collected_card_keeps_its_resident_a_holder(db_url: str, workflow: Workflow, tmp_path: object) -> None:
    from pathlib import Path

    nik = queue(workflow, ITS, 1, 0)[0]
    workflow.blanks.receive("B-1", 1, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 1}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    workflow.fire_many([FireRequest(nik, "print_card"), FireRequest(nik, "collect")], actor=ACTOR)
    assert workflow.card(nik).had_ektp
    with pytest.raises(WorkflowError, match="collected an e-KTP here: had_ektp stays true"):
        workflow.correct(nik, had_ektp=False, actor=ACTOR, reason="x")
    head = workflow.audit.checkpoint()
    export = Path(str(tmp_path)) / "siak.csv"  # the registration export, from before the card was collected
    export.write_text(f"nik,name,kecamatan,had_ektp\n{nik},{workflow.card(nik).name},{ITS},false\n", "utf-8")
    result = run(db_url, "residents", "import", str(export), "--update")
    assert result.exit_code != 0 and "line 2: NIK" in result.output and "had_ektp stays true" in result.output
    assert workflow.audit.checkpoint() == head and workflow.card(nik).had_ektp


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"birth_date": dt.date(2090, 5, 17)}, "expected a day from 1900-01-01 to today"),
        ({"birth_date": dt.date(1890, 5, 17)}, "expected a day from 1900-01-01 to today"),
        ({"birth_date": "1990-05-17"}, "birth_date: '1990-05-17' is not a date"),
        ({"had_ektp": "no"}, "had_ektp: 'no' is not True or False"),
        ({"name": 7}, "name: 7 is not text"),
    ],
)
def test_impossible_or_mistyped_values_are_refused(workflow: Workflow, changes: dict, words: str) -> None:  # type: ignore[type-arg]
    resident = make_resident(born=dt.date(1990, 5, 17))
    workflow.register([resident], actor=ACTOR)
    with pytest.raises(WorkflowError, match=words):
        workflow.correct(resident.nik, actor=ACTOR, reason="x", **changes)


def test_a_moved_residents_kecamatan_stays(workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    workflow.fire(nik, "move_out", actor=ACTOR)
    with pytest.raises(WorkflowError, match="is moved: the resident's kecamatan stays"):
        workflow.correct(nik, kecamatan=SAKO, actor=ACTOR, reason="x")
    assert workflow.correct(nik, name="Nama Benar", actor=ACTOR, reason="x").changes["name"][1] == "Nama Benar"


def test_an_unknown_nik_is_not_found(workflow: Workflow) -> None:
    with pytest.raises(CardNotFound):
        workflow.correct(make_nik(), name="X", actor=ACTOR, reason="x")


def test_a_dry_run_shows_the_correction_and_writes_nothing(db_url: str, workflow: Workflow) -> None:
    resident = make_resident(name="Siti Aminah")
    workflow.register([resident], actor=ACTOR)
    head = workflow.audit.checkpoint()
    result = run(db_url, "residents", "correct", resident.nik, "--had-ektp", "--reason", "punya KTP-el", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["had_ektp: False -> True", "dry run: nothing written"]
    assert workflow.audit.checkpoint() == head and not workflow.card(resident.nik).had_ektp
    shape = json.loads(
        run(db_url, "residents", "correct", resident.nik, "--disaster-victim", "--reason", "x", "--json").output
    )
    assert list(shape) == ["nik", "changes", "reason", "evidence", "seq", "released", "dry_run"]


def test_an_edited_correction_is_found_by_verify(workflow: Workflow, engine: sa.Engine) -> None:
    resident = make_resident(name="Budi Purnomo")
    workflow.register([resident], actor=ACTOR)
    done = workflow.correct(resident.nik, name="Budi P.", actor=ACTOR, reason="x", evidence="KK 1")
    kept = workflow.audit.checkpoint()
    for statement in (
        f"UPDATE resident_entries SET evidence = 'KK 2' WHERE seq = {done.seq}",
        f"UPDATE resident_entries SET evidence = NULL WHERE seq = {done.seq}",
    ):
        tamper(engine, statement)
        report = workflow.audit.verify(kept)
        assert not report.ok and report.problems[0].seq == done.seq, report.problems
        tamper(engine, f"UPDATE resident_entries SET evidence = 'KK 1' WHERE seq = {done.seq}")
    assert workflow.audit.verify(kept).ok


def test_a_deceased_residents_data_can_still_be_corrected(workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    workflow.fire_many([FireRequest(nik, "die", "laporan kematian")], actor=ACTOR)
    workflow.correct(nik, name="Almarhum Budi", actor=ACTOR, reason="nama di akta kematian")
    assert workflow.card(nik).state == "deceased"
    consistent(workflow)


# -- residents import --update --------------------------------------------------------------


def _import(db_url: str, path: object, *options: str) -> Result:
    return run(db_url, "residents", "import", str(path), *options)


def test_an_import_with_update_applies_each_difference_as_a_correction(
    db_url: str, workflow: Workflow, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    budi, siti = make_resident(name="Budi Purnomo"), make_resident(SAKO, name="Siti Aminah", had_ektp=True)
    first = folder / "residents.csv"
    first.write_text(
        f"nik,name,kecamatan,had_ektp\n{budi.nik},Budi Purnomo,{ITS},false\n{siti.nik},Siti Aminah,{SAKO},true\n",
        encoding="utf-8",
    )
    assert _import(db_url, first).exit_code == 0
    # a later file without had_ektp: Siti's flag is not compared, Budi's name and kecamatan are
    later = folder / "residents-2.csv"
    later.write_text(f"nik,name,kecamatan\n{budi.nik},Budi Purnomo S.,{SAKO}\n{siti.nik},Siti Aminah,{SAKO}\n", "utf-8")
    refused = _import(db_url, later)
    assert refused.exit_code != 0 and "already registered with a different name" in refused.output
    head = workflow.audit.checkpoint()
    dry = _import(db_url, later, "--update", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        f"{budi.nik} (line 2 of residents-2.csv): name: Budi Purnomo -> Budi Purnomo S.; kecamatan: {ITS} -> {SAKO}",
        f"{later}: would add 0 residents, 1 already registered, 1 would be corrected",
    ]
    assert workflow.audit.checkpoint() == head
    done = json.loads(_import(db_url, later, "--update", "--json").output)
    assert [c["changes"] for c in done["corrected"]] == [
        {"name": {"before": "Budi Purnomo", "after": "Budi Purnomo S."}, "kecamatan": {"before": ITS, "after": SAKO}}
    ]
    assert (done["added"], done["unchanged"]) == (0, 1)
    card = workflow.card(budi.nik)
    assert (card.name, card.kecamatan) == ("Budi Purnomo S.", SAKO) and workflow.card(siti.nik).had_ektp
    assert workflow.audit.resident_history(budi.nik)[-1].reason == "line 2 of residents-2.csv"
    assert _import(db_url, later, "--update").output.endswith("0 residents, 2 already registered, 0 corrected\n")
    consistent(workflow)


def test_an_import_with_update_and_a_bad_line_corrects_nothing(
    db_url: str, workflow: Workflow, tmp_path: object
) -> None:
    from pathlib import Path

    budi = make_resident(name="Budi Purnomo")
    workflow.register([budi], actor=ACTOR)
    head = workflow.audit.checkpoint()
    path = Path(str(tmp_path)) / "residents.csv"
    path.write_text(f"nik,name,kecamatan\n{budi.nik},Budi P.,{ITS}\n{make_nik()},Andi,99.99.99\n", encoding="utf-8")
    result = _import(db_url, path, "--update")
    assert result.exit_code != 0 and "line 3" in result.output
    assert workflow.audit.checkpoint() == head and workflow.card(budi.nik).name == "Budi Purnomo"
    outside = Path(str(tmp_path)) / "outside.csv"
    outside.write_text(f"nik,name,kecamatan\n{budi.nik},Budi Purnomo,16.07.01\n", encoding="utf-8")
    result = _import(db_url, outside, "--update")
    assert result.exit_code != 0 and "line 2: NIK" in result.output and "outside Kota Palembang" in result.output
    assert workflow.audit.checkpoint() == head


def test_a_dry_run_says_a_reserved_blank_would_be_released(db_url: str, workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    workflow.blanks.receive("B-1", 1, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 1}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    head = workflow.audit.checkpoint()
    result = run(db_url, "residents", "correct", nik, "--kecamatan", SAKO, "--reason", "x", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "would release the blank reserved at the old kecamatan",
        "dry run: nothing written",
    ]
    assert workflow.audit.checkpoint() == head and workflow.card(nik).state == "allocated"
    dry = workflow.correct(nik, kecamatan=SAKO, actor=ACTOR, reason="x", dry_run=True)
    assert dry.seq == 0 and dry.released is not None and dry.released.seq == 0
