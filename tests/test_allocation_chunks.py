"""Allocation as a bulk job: the plan recorded, then the chosen cards given their blanks
chunk by chunk, so that other writers wait a chunk at most. What other writers do
between chunks is skipped and explained; a run interrupted by a crash is finished by
the next one, giving no card two blanks."""

from __future__ import annotations

from typing import Any

import pytest

from ektp_workflow import Workflow
from ektp_workflow._services import allocation

from .conftest import consistent, run_cli
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .test_allocation import ACTOR, queue, stock


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocation, "CHUNK", 3)


def _after_first_chunk(action: Any) -> Any:
    """A progress callback that runs ``action`` once, as another desk, after the run's
    first chunk (committed) and before its second."""
    calls: list[int] = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 1:
            action()

    return progress


def test_a_run_gives_its_blanks_chunk_by_chunk_as_planned(workflow: Workflow, small_chunks: None) -> None:
    niks = queue(workflow, ITS, 8, 0)
    stock(workflow, {ITS: 7})
    planned = workflow.plan_allocation()
    plan = workflow.allocate(actor=ACTOR)
    assert [a.nik for a in plan.chosen()] == [a.nik for a in planned.chosen()]
    assert plan.skipped_count == 0 and not plan.resumed
    events = [e for n in niks for e in workflow.history(n) if e.trigger == "allocate"]
    assert len(events) == 7 and {e.batch_id for e in events} == {plan.run_id}
    assert {e.rule_set_version for e in events} == {plan.rule_set_version}
    consistent(workflow)
    for nik in niks:
        assert all(run.agrees for run in workflow.audit.explain(nik).runs), nik


def test_a_card_that_leaves_the_queue_between_chunks_is_skipped_and_explained(
    workflow: Workflow, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    niks = queue(workflow, ITS, 8, 0)
    stock(workflow, {ITS: 7})
    last = [a.nik for a in workflow.plan_allocation().chosen()][-1]
    desk = _after_first_chunk(lambda: workflow.fire(last, "die", actor="kec/op", reason="akta kematian"))
    plan = workflow.allocate(actor=ACTOR, progress=desk)
    assert plan.skipped_count == 1 and plan.skipped[0][0] == last
    assert workflow.card(last).state == "deceased"
    assert sum(workflow.card(n).state == "allocated" for n in niks) == 6
    consistent(workflow)
    run = next(r for r in workflow.audit.explain(last).runs if r.run_id == plan.run_id)
    assert run.agrees and run.replanned and not run.allocated
    assert "it left the queue before the run reached it" in run.reason() and "die" in run.reason()


def test_a_blank_spoiled_between_chunks_leaves_the_last_chosen_waiting_and_says_why(
    workflow: Workflow, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(workflow, ITS, 8, 0)
    stock(workflow, {ITS: 7})
    last = [a.nik for a in workflow.plan_allocation().chosen()][-1]
    desk = _after_first_chunk(lambda: workflow.blanks.spoil(ITS, 1, reason="pita macet", actor="kec/op"))
    plan = workflow.allocate(actor=ACTOR, progress=desk)
    assert plan.skipped_count == 1 and plan.skipped[0][0] == last and "blank_available" in plan.skipped[0][1]
    assert workflow.card(last).state == "deduplicated"
    consistent(workflow)
    run = next(r for r in workflow.audit.explain(last).runs if r.run_id == plan.run_id)
    assert run.agrees and "1 blank of its kecamatan was spoiled or reserved by hand" in run.reason()


class _Crash(Exception):
    pass


def test_a_run_interrupted_by_a_crash_is_finished_by_the_next_giving_no_card_two_blanks(
    workflow: Workflow, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    niks = queue(workflow, ITS, 8, 0)
    stock(workflow, {ITS: 7})
    chosen = [a.nik for a in workflow.plan_allocation().chosen()]

    def crash() -> None:
        raise _Crash

    with pytest.raises(_Crash):
        workflow.allocate(actor=ACTOR, progress=_after_first_chunk(crash))
    assert sum(workflow.card(n).state == "allocated" for n in niks) == 3  # the first chunk
    waiting = next(r for r in workflow.audit.explain(chosen[-1]).runs)
    assert waiting.agrees and "the run was interrupted" in waiting.reason()
    again = workflow.allocate(actor=ACTOR)
    assert again.resumed and again.run_id == waiting.run_id and again.skipped_count == 0
    allocated = [e for n in niks for e in workflow.history(n) if e.trigger == "allocate"]
    assert sorted(e.nik for e in allocated) == sorted(chosen) and {e.batch_id for e in allocated} == {again.run_id}
    consistent(workflow)
    assert workflow.allocate(actor=ACTOR).run_id != again.run_id  # a new run now: nothing to give
    for nik in niks:
        assert all(run.agrees for run in workflow.audit.explain(nik).runs), nik


def test_the_cli_says_what_was_skipped_and_what_was_finished(
    workflow: Workflow, db_url: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(workflow, ITS, 5, 0)
    stock(workflow, {ITS: 5})
    last = [a.nik for a in workflow.plan_allocation().chosen()][-1]
    real = allocation.allocate

    def with_a_desk(*args: Any, **kwargs: Any) -> Any:
        kwargs["progress"] = _after_first_chunk(lambda: workflow.fire(last, "die", actor="kec/op", reason="akta"))
        return real(*args, **kwargs)

    monkeypatch.setattr(allocation, "allocate", with_a_desk)
    result = run_cli(db_url, ACTOR, "allocate")
    assert result.exit_code == 0, result.output
    assert "reserved 4 blanks" in result.output and f"{last}: skipped" in result.output
