"""Reprints after a printing failure (``Workflow.reprint``, ``ektp card reprint``): the
spoiled blank on the ledger against its card, the next blank at once or the card's old
place in the queue, one event, and every refusal clean."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result

import ektp_workflow
from ektp_workflow import FireRequest, Workflow
from ektp_workflow._store.schema import blank_entries, cards, waiting_cards
from ektp_workflow.errors import CardNotFound, ConcurrencyError, GuardFailed, WorkflowError

from .conftest import consistent, run_cli
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident
from .test_allocation import queue, stock
from .test_history_chain import tamper

ACTOR = "kec-05/printer"


def run(db_url: str, *args: str) -> Result:
    return run_cli(db_url, ACTOR, *args)


def at(workflow: Workflow, kecamatan: str) -> tuple[int, int, int, int]:
    """The kecamatan's blanks: (unallocated, reserved, consumed, spoiled)."""
    lines = [line for line in workflow.blanks.stock() if line.kecamatan == kecamatan]
    return tuple(sum(getattr(line, f) for line in lines) for f in ("unallocated", "reserved", "consumed", "spoiled"))


def allocated(workflow: Workflow, kecamatan: str, waiting: int, blanks: int) -> list[str]:
    """``waiting`` cards queued at ``kecamatan`` (oldest first), ``blanks`` given to the first."""
    niks = queue(workflow, kecamatan, waiting, 0)
    stock(workflow, {kecamatan: blanks})
    workflow.allocate(actor=ACTOR)
    return niks


def card_entries(engine: sa.Engine, nik_card_id: int) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        query = sa.select(blank_entries.c.movement, blank_entries.c.card_version).where(
            blank_entries.c.card_id == nik_card_id
        )
        return [tuple(row) for row in conn.execute(query.order_by(blank_entries.c.seq))]


def card_id(engine: sa.Engine, nik: str) -> int:
    from ektp_workflow._store.schema import residents

    with engine.connect() as conn:
        return int(conn.scalar(sa.select(residents.c.id).where(residents.c.nik == nik)))


def test_a_reserved_blank_spoiled_is_misprinted_and_the_next_one_reserved_in_one_event(
    workflow: Workflow, engine: sa.Engine
) -> None:
    nik = allocated(workflow, ITS, 1, 2)[0]
    assert at(workflow, ITS) == (1, 1, 0, 0)
    head = workflow.audit.checkpoint()
    done = workflow.reprint(nik, actor=ACTOR, reason="ribbon jam")
    assert (done.spoiled, done.waiting, done.kecamatan) == ("misprinted", False, ITS)
    assert (done.event.trigger, done.event.from_state, done.event.to_state) == ("reprint", "allocated", "allocated")
    assert at(workflow, ITS) == (0, 1, 0, 1)  # the spoiled one, and the next reserved
    version = done.event.version
    assert card_entries(engine, card_id(engine, nik))[-2:] == [("misprinted", version), ("reserved", version)]
    assert workflow.audit.checkpoint()[0] == head[0] + 3  # the event, then its two entries
    assert workflow.fire(nik, "print_card", actor=ACTOR).to_state == "printed"
    assert at(workflow, ITS) == (0, 0, 1, 1)
    consistent(workflow)


def test_a_printed_card_found_spoiled_is_voided_and_printed_again(workflow: Workflow) -> None:
    nik = allocated(workflow, ITS, 1, 2)[0]
    workflow.fire(nik, "print_card", actor=ACTOR)
    assert at(workflow, ITS) == (1, 0, 1, 0)
    done = workflow.reprint(nik, actor=ACTOR, reason="chip not written")
    assert (done.spoiled, done.event.from_state, done.event.to_state) == ("voided", "printed", "allocated")
    assert at(workflow, ITS) == (0, 1, 0, 1)  # the print is void: its blank counts spoiled, not consumed
    workflow.fire(nik, "print_card", actor=ACTOR)
    assert at(workflow, ITS) == (0, 0, 1, 1)
    use = workflow.blanks.quotas()
    assert [u.used for u in use] == [2]  # two blanks used: one printed, one spoiled
    consistent(workflow)


def test_with_no_blank_in_stock_the_card_waits_at_the_head_of_its_queue(workflow: Workflow, engine: sa.Engine) -> None:
    first = allocated(workflow, ITS, 1, 1)[0]
    later = queue(workflow, ITS, 3, 0)  # joined after it
    done = workflow.reprint(first, actor=ACTOR, reason="printer jam")
    assert done.waiting and (done.event.trigger, done.event.to_state) == ("requeue", "deduplicated")
    assert at(workflow, ITS) == (0, 0, 0, 1)
    assert [c.nik for c in workflow.list_cards(order="queue", kecamatan=ITS).cards] == [first, *later]
    with engine.connect() as conn:
        since = conn.scalar(sa.select(waiting_cards.c.waiting_since).where(waiting_cards.c.nik == first))
    assert since < done.event.occurred_at  # it kept the time it first joined
    stock(workflow, {ITS: 1}, reference="B-2")
    plan = workflow.allocate(actor=ACTOR)
    assert [a.nik for a in plan.chosen()] == [first]  # the next blank is its
    consistent(workflow)


def test_release_still_sends_a_card_to_the_back_of_the_queue(workflow: Workflow) -> None:
    first = allocated(workflow, ITS, 1, 1)[0]
    later = queue(workflow, ITS, 2, 0)
    workflow.fire(first, "release", actor=ACTOR, reason="wrong kecamatan stock")
    assert [c.nik for c in workflow.list_cards(order="queue", kecamatan=ITS).cards] == [*later, first]
    consistent(workflow)


def test_a_bulk_requeue_keeps_every_cards_place(workflow: Workflow) -> None:
    printed = allocated(workflow, ITS, 2, 2)
    workflow.fire_many([FireRequest(n, "print_card") for n in printed], actor=ACTOR)
    later = queue(workflow, ITS, 2, 0)
    result = workflow.bulk_fire("requeue", actor=ACTOR, where_state="printed", reason="batch of bad chips")
    assert result.applied == {"requeue": 2}
    assert [c.nik for c in workflow.list_cards(order="queue", kecamatan=ITS).cards] == [*printed, *later]
    assert at(workflow, ITS) == (0, 0, 0, 2)
    consistent(workflow)


def test_the_cli_says_what_happened_and_the_spoilage_report_names_the_card(db_url: str, workflow: Workflow) -> None:
    reserved, printed = allocated(workflow, ITS, 2, 3)
    workflow.fire(printed, "print_card", actor=ACTOR)
    result = run(db_url, "card", "reprint", reserved, "--reason", "ribbon jam")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"{reserved}: its blank recorded misprinted (spoiled against the card); the next blank at {ITS} is reserved for it"
    )
    result = run(db_url, "card", "reprint", printed, "--reason", "foto buram")
    assert result.exit_code == 0, result.output
    assert "no unreserved blank at 16.71.05: it waits for the next in the place it had" in result.output
    table = run(db_url, "blanks", "spoilage", "--kecamatan", ITS).output
    assert f"misprinted  {reserved}" in table and f"voided      {printed}" in table
    assert table.splitlines()[-1] == "2 blanks spoiled, 2 of them against a card"
    rows = list(csv.DictReader(io.StringIO(run(db_url, "blanks", "spoilage", "--csv").output)))
    assert [(r["how"], r["card"], r["reason"]) for r in rows] == [
        ("misprinted", reserved, "ribbon jam"),
        ("voided", printed, "foto buram"),
    ]
    as_json = json.loads(run(db_url, "blanks", "spoilage", "--json").output)
    assert as_json[1]["nik"] == printed and as_json[1]["movement"] == "voided"
    assert run(db_url, "blanks", "spoilage", "--kecamatan", SAKO).output == "no blanks spoiled\n"
    history = run(db_url, "card", "history", printed).output
    assert "requeue" in history and "foto buram" in history
    consistent(workflow)


def test_a_dry_run_says_what_would_happen_and_writes_nothing(db_url: str, workflow: Workflow) -> None:
    nik = allocated(workflow, ITS, 1, 1)[0]
    head = workflow.audit.checkpoint()
    result = run(db_url, "card", "reprint", nik, "--reason", "jam", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{nik}: its blank would be recorded misprinted (spoiled against the card); no unreserved blank at "
        f"{ITS}: it would wait for the next in the place it had (ektp cards list --order queue --kecamatan {ITS})\n"
    )
    assert workflow.audit.checkpoint() == head and workflow.card(nik).state == "allocated"


@pytest.mark.parametrize(
    ("setup", "args", "words"),
    [
        ("waiting", ["--reason", "jam"], "is deduplicated: only a card allocated a blank or printed can be reprinted"),
        ("collected", ["--reason", "jam"], "is collected: only a card allocated a blank or printed"),
        ("allocated", ["--reason", " "], "a reprint needs a reason"),
        ("allocated", [], "Missing option '--reason'"),
    ],
)
def test_refusals_name_the_problem_and_write_nothing(
    db_url: str, workflow: Workflow, setup: str, args: list[str], words: str
) -> None:
    nik = queue(workflow, ITS, 1, 0)[0] if setup == "waiting" else allocated(workflow, ITS, 1, 1)[0]
    if setup == "collected":
        workflow.fire_many([FireRequest(nik, "print_card"), FireRequest(nik, "collect")], actor=ACTOR)
    head = workflow.audit.checkpoint()
    result = run(db_url, "card", "reprint", nik, *args)
    assert result.exit_code != 0 and words in result.output, result.output
    assert workflow.audit.checkpoint() == head


def test_an_unknown_nik_is_refused(workflow: Workflow) -> None:
    with pytest.raises(CardNotFound):
        workflow.reprint("1671050101900999", actor=ACTOR, reason="jam")
    with pytest.raises(WorkflowError, match="NIK"):
        workflow.reprint("16710501", actor=ACTOR, reason="jam")


def test_audit_catches_an_edited_misprint_and_a_moved_place_in_the_queue(workflow: Workflow, engine: sa.Engine) -> None:
    nik = allocated(workflow, ITS, 1, 1)[0]
    workflow.reprint(nik, actor=ACTOR, reason="jam")
    consistent(workflow)
    tamper(engine, "UPDATE blank_entries SET movement = 'spoiled', card_id = NULL WHERE movement = 'misprinted'")
    assert not workflow.audit.verify().ok
    assert any("balances" in p for p in workflow.blanks.problems())


def test_replay_catches_a_card_moved_up_the_queue(workflow: Workflow, engine: sa.Engine) -> None:
    second = card_id(engine, queue(workflow, ITS, 2, 0)[1])
    with engine.begin() as conn:  # the app role's own SQL: the second card moved before the first
        conn.execute(
            cards.update()
            .where(cards.c.id == second)
            .values(queued_at=sa.select(sa.func.min(cards.c.queued_at)).scalar_subquery())
        )
    problems = workflow.audit.compare()
    assert any(f"card {second}: queued_at" in p for p in problems), problems


def test_the_migration_gives_every_card_the_time_it_joined_the_queue(db_url: str) -> None:
    """A revision-0010 database: an allocated card that joined the queue at 09:00, a card
    waiting since 10:00, and one never in the queue."""
    from ektp_workflow import create_engine, upgrade

    engine = create_engine(db_url)
    upgrade(engine, "0010")
    times = {"joined": "2026-11-02 09:00:00", "allocated": "2026-11-02 09:30:00", "waiting": "2026-11-02 10:00:00"}
    with engine.begin() as conn:
        for card, (state, at) in enumerate(
            [("allocated", times["allocated"]), ("deduplicated", times["waiting"]), ("recorded", times["joined"])], 1
        ):
            resident = make_resident(ITS)
            conn.execute(
                sa.text(
                    "INSERT INTO residents (id, nik, name, name_key, kecamatan, birth_date, sex, had_ektp, "
                    "disaster_victim, suket, registered_at) "
                    "VALUES (:i, :nik, 'X', 'x', :k, '1990-01-01', 'M', false, false, false, :at)"
                ),
                {"i": card, "nik": resident.nik, "k": ITS, "at": times["joined"]},
            )
            conn.execute(
                sa.text("INSERT INTO cards (id, state, version, updated_at) VALUES (:i, :s, 3, :at)"),
                {"i": card, "s": state, "at": at},
            )
        for seq, (card, version, dest, at) in enumerate(
            [(1, 2, "deduplicated", times["joined"]), (1, 3, "allocated", times["allocated"])], 1
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO events (seq, card_id, version, trigger, from_state, to_state, actor, occurred_at, "
                    "recorded_at, lifecycle_hash, hash) VALUES (:seq, :c, :v, 't', 'x', :d, 'a', :at, :at, 'h', 'h')"
                ),
                {"seq": seq, "c": card, "v": version, "d": dest, "at": at},
            )
    upgrade(engine)
    with engine.connect() as conn:
        joined = dict(conn.execute(sa.select(cards.c.id, cards.c.queued_at)).all())
        since = conn.scalar(sa.select(waiting_cards.c.waiting_since))
    engine.dispose()
    utc = [dt.datetime.fromisoformat(times[k]).replace(tzinfo=dt.UTC) for k in ("joined", "waiting")]
    assert joined == {1: utc[0], 2: utc[1], 3: None} and since == utc[1]


def test_a_database_written_under_places_kept_does_not_go_back_to_0010(workflow: Workflow, engine: sa.Engine) -> None:
    from alembic import command
    from ektp_workflow._store.migrations import alembic_config

    first = allocated(workflow, ITS, 1, 1)[0]
    with pytest.raises(RuntimeError, match="revision 0010 cannot read"), engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    workflow.reprint(first, actor=ACTOR, reason="jam")
    with pytest.raises(RuntimeError, match="1 ledger entries record a card's spoiled blank"), engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    consistent(workflow)  # a refused downgrade changed nothing


def test_reprint_and_requeue_fired_by_hand_need_a_reason_and_requeue_needs_an_empty_stock(workflow: Workflow) -> None:
    first, second = allocated(workflow, ITS, 2, 3)
    head = workflow.audit.checkpoint()
    with pytest.raises(GuardFailed, match="a reason is required"):
        workflow.fire(first, "requeue", actor=ACTOR)
    with pytest.raises(GuardFailed, match="1 unreserved blank at kecamatan 16.71.05: reprint on one"):
        workflow.fire(first, "requeue", actor=ACTOR, reason="jam")
    skipped = workflow.bulk_fire("requeue", actor=ACTOR, where_state="allocated")
    assert skipped.applied.get("requeue", 0) == 0 and skipped.skipped == 2
    assert workflow.audit.checkpoint() == head
    assert workflow.fire(first, "reprint", actor=ACTOR, reason="jam").to_state == "allocated"
    consistent(workflow)


def test_the_same_failure_reported_twice_spoils_one_blank(workflow: Workflow) -> None:
    nik = allocated(workflow, ITS, 1, 3)[0]
    version = workflow.card(nik).version
    first = workflow.reprint(nik, actor=ACTOR, reason="jam", idempotency_key="kec05-2026-12-02-17")
    again = workflow.reprint(nik, actor="kec-05/desk-2", reason="jam", idempotency_key="kec05-2026-12-02-17")
    assert again == first and at(workflow, ITS) == (1, 1, 0, 1)
    with pytest.raises(ConcurrencyError):
        workflow.reprint(nik, actor="kec-05/desk-2", reason="jam", expected_version=version)
    assert at(workflow, ITS) == (1, 1, 0, 1)  # still one blank spoiled
    consistent(workflow)


def test_a_voided_print_is_not_counted_as_printed_and_a_requeued_card_ages_from_its_place(workflow: Workflow) -> None:
    nik = allocated(workflow, ITS, 1, 1)[0]
    workflow.fire(nik, "print_card", actor=ACTOR)
    assert workflow.reports.stock().rows[-1].printed_today == 1
    workflow.reprint(nik, actor=ACTOR, reason="chip")  # no other blank: it waits
    assert workflow.reports.stock().rows[-1].printed_today == 0
    assert [r.printed_per_day for r in workflow.reports.backlog() if r.kecamatan == ITS] == [0.0]
    joined = workflow.history(nik)[3].occurred_at  # confirm_single: when it joined the queue
    row = next(r for r in workflow.reports.aging(now=joined + dt.timedelta(days=200)) if r.state == "deduplicated")
    assert row.max_days == 200 and row.over_six_months == 1


def test_keeps_place_on_an_edge_that_does_not_enter_the_queue_is_refused(tmp_path: Path) -> None:
    from ektp_workflow._services.lifecycle import EFFECTS, GUARDS, executor_for
    from ektp_workflow.errors import DefinitionError
    from ektp_workflow.states import load_lifecycle

    shipped = (Path(ektp_workflow.__file__).parent / "states" / "lifecycle.toml").read_text(encoding="utf-8")
    changed = shipped.replace('effects = ["consume_blank"]', 'effects = ["consume_blank"]\nkeeps_place = true')
    path = tmp_path / "lifecycle.toml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"print_card from allocated\): keeps_place, but it does not enter"):
        executor_for(load_lifecycle(path, GUARDS, EFFECTS))
