"""The blank ledger under the card lifecycle: reserved, released, consumed, conserved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ektp_workflow import Workflow
from ektp_workflow.errors import GuardFailed, StockError

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as KEC
from .factories import make_resident

ACTOR = "gudang-blanko"


def deduplicated_cards(workflow: Workflow, count: int) -> list[str]:
    residents = [make_resident() for _ in range(count)]
    workflow.register(residents, actor=ACTOR)
    for resident in residents:
        for trigger in ("record", "submit", "confirm_single"):
            workflow.fire(resident.nik, trigger, actor=ACTOR)
    return [r.nik for r in residents]


def stock_at(workflow: Workflow, kecamatan: str) -> tuple[int, int, int, int]:
    lines = [s for s in workflow.blanks.stock() if s.kecamatan == kecamatan]
    return tuple(sum(getattr(s, f) for s in lines) for f in ("unallocated", "reserved", "consumed", "spoiled"))  # type: ignore[return-value]


def test_allocate_reserves_print_consumes_release_gives_back(workflow: Workflow) -> None:
    first, second = deduplicated_cards(workflow, 2)
    workflow.blanks.receive("KEMENDAGRI-2017-10-16", 20, actor=ACTOR)
    workflow.blanks.distribute("KEMENDAGRI-2017-10-16", counts={KEC: 2}, actor=ACTOR)

    workflow.fire(first, "allocate", actor=ACTOR)
    workflow.fire(second, "allocate", actor=ACTOR)
    assert stock_at(workflow, KEC) == (0, 2, 0, 0)
    workflow.fire(first, "print_card", actor=ACTOR)
    workflow.fire(second, "release", actor=ACTOR, reason="resident unreachable")
    assert stock_at(workflow, KEC) == (1, 0, 1, 0)
    assert workflow.blanks.problems() == []


@pytest.mark.parametrize("trigger", ["die", "move_out"])
def test_an_allocated_card_that_leaves_returns_its_blank(workflow: Workflow, trigger: str) -> None:
    (nik,) = deduplicated_cards(workflow, 1)
    workflow.blanks.receive("B", 1, actor=ACTOR)
    workflow.blanks.distribute("B", counts={KEC: 1}, actor=ACTOR)
    workflow.fire(nik, "allocate", actor=ACTOR)
    workflow.fire(nik, trigger, actor=ACTOR)
    assert stock_at(workflow, KEC) == (1, 0, 0, 0)
    assert workflow.blanks.problems() == []


def test_the_last_blank_goes_to_one_card_only(workflow: Workflow, engine: sa.Engine) -> None:
    first, second = deduplicated_cards(workflow, 2)
    workflow.blanks.receive("B", 1, actor=ACTOR)
    workflow.blanks.distribute("B", counts={KEC: 1}, actor=ACTOR)
    workflow.fire(first, "allocate", actor=ACTOR)
    before = snapshot(engine)
    with pytest.raises(GuardFailed, match="no unallocated blank at kecamatan 16.71.05"):
        workflow.fire(second, "allocate", actor=ACTOR)
    assert snapshot(engine) == before


def test_distributing_more_than_the_batch_holds_is_refused_with_the_numbers(
    workflow: Workflow, engine: sa.Engine
) -> None:
    workflow.blanks.receive("B", 10, actor=ACTOR)
    workflow.blanks.distribute("B", counts={KEC: 6}, actor=ACTOR)
    before = snapshot(engine)
    with pytest.raises(StockError, match="cannot distribute 5 blanks, 4 undistributed"):
        workflow.blanks.distribute("B", counts={KEC: 3, "16.71.08": 2}, actor=ACTOR)
    assert snapshot(engine) == before


def test_a_batch_reference_is_received_once(workflow: Workflow) -> None:
    workflow.blanks.receive("B", 10, actor=ACTOR)
    with pytest.raises(StockError, match="already received"):
        workflow.blanks.receive("B", 10, actor=ACTOR)
    with pytest.raises(StockError, match="the count must be from 1 to 100,000,000, got 0"):
        workflow.blanks.receive("C", 0, actor=ACTOR)


def test_tampered_balances_are_reported(workflow: Workflow, engine: sa.Engine) -> None:
    workflow.blanks.receive("B", 10, actor=ACTOR)
    workflow.blanks.distribute("B", counts={KEC: 4}, actor=ACTOR)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE blank_stock SET unallocated = unallocated + 1")
    problems = workflow.blanks.problems()
    assert any("received 10, accounted for 11" in p for p in problems)
    assert any("entries give (4, 0, 0, 0)" in p for p in problems)
