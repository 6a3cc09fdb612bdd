"""Reprints after a printing failure (``Workflow.reprint``, ``ektp card reprint``): the
spoiled blank on the ledger against its card, the next blank at once or the card's old
place in the queue, one event, and every refusal clean."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow import FireRequest, Workflow
from ektp_workflow._store.schema import blank_entries, cards, waiting_cards
from ektp_workflow.errors import CardNotFound, WorkflowError

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .test_allocation import queue, stock
from .test_history_chain import tamper

ACTOR = "kec-05/printer"


def run(db_url: str, *args: str) -> Result:
    from ektp_workflow.cli.main import cli

    return CliRunner().invoke(cli, ["--db", db_url, "--actor", ACTOR, *args])


def consistent(workflow: Workflow) -> None:
    assert workflow.audit.verify().ok
    assert workflow.audit.compare() == []
    assert workflow.blanks.problems() == []


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


def test_the_migration_gives_every_card_the_time_it_joined_the_queue(workflow: Workflow, engine: sa.Engine) -> None:
    from alembic import command
    from ektp_workflow import upgrade
    from ektp_workflow._store.migrations import alembic_config

    first = allocated(workflow, ITS, 1, 1)[0]
    workflow.fire(first, "print_card", actor=ACTOR)
    later = queue(workflow, ITS, 2, 0)
    with engine.connect() as conn:
        before = dict(conn.execute(sa.select(cards.c.id, cards.c.queued_at)).all())
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    upgrade(engine)
    with engine.connect() as conn:
        assert dict(conn.execute(sa.select(cards.c.id, cards.c.queued_at)).all()) == before
    consistent(workflow)
    assert workflow.reprint(first, actor=ACTOR, reason="jam").waiting
    assert [c.nik for c in workflow.list_cards(order="queue", kecamatan=ITS).cards] == [first, *later]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with engine.begin() as conn, pytest.raises(RuntimeError, match="1 ledger entries record a card's spoiled blank"):
        command.downgrade(alembic_config(conn), "0010")
    upgrade(engine)
    consistent(workflow)
