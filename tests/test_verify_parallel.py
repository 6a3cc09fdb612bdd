"""Verify in worker processes (``--jobs N``): each re-hashes one range of the chain from
the hash stored before it, and finds what one process finds, wherever in the chain (at
a seam too) the history was edited, deleted, inserted or cut."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from ektp_workflow import Workflow
from ektp_workflow._audit import parallel
from tests.conftest import run_cli
from tests.factories import make_resident
from tests.tampering import unprotect

AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def chain(workflow: Workflow, monkeypatch: pytest.MonkeyPatch) -> Workflow:
    """A history of 120 residents registered, recorded and submitted (360 events) and their entries,
    verified in ranges of at least 40 rows (so that three workers share it)."""
    monkeypatch.setattr(parallel, "SMALLEST", 40)
    residents = [make_resident() for _ in range(120)]
    workflow.register(residents, actor="t", at=AT)
    for resident in residents[:120]:
        workflow.fire(resident.nik, "record", actor="t")
    workflow.bulk_fire("submit", actor="t", where_state="recorded")
    return workflow


def _same(workflow: Workflow, jobs: int = 3) -> tuple[object, object]:
    one, many = workflow.audit.verify(), workflow.audit.verify(jobs=jobs)
    assert (many.checked, many.entries, many.last, many.chain_head) == (
        one.checked,
        one.entries,
        one.last,
        one.chain_head,
    )
    assert [(p.seq, p.what) for p in many.problems] == [(p.seq, p.what) for p in one.problems]
    return one, many


def test_the_ranges_cover_the_chain_once() -> None:
    assert parallel.split(-2, 100_000, 3) == [(-2, 33_332), (33_332, 66_666), (66_666, None)]
    assert parallel.split(0, 100, 4) == [(0, None)]  # too short to be worth a worker


def test_an_intact_history_verifies_the_same_in_three_processes(chain: Workflow) -> None:
    one, many = _same(chain)
    assert one.ok and many.ok and many.checked == 360


def _event_seqs(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT seq FROM events ORDER BY seq"))]


TAMPERINGS: dict[str, Callable[[sa.Connection, list[int]], None]] = {
    "an event edited in the middle": lambda c, s: c.execute(
        sa.text("UPDATE events SET actor = 'someone else' WHERE seq = :s"), {"s": s[len(s) // 2]}
    ),
    "events deleted across a seam": lambda c, s: c.execute(
        sa.text("DELETE FROM events WHERE seq BETWEEN :a AND :b"), {"a": s[len(s) // 3] - 2, "b": s[len(s) // 3] + 2}
    ),
    "the last events cut off": lambda c, s: c.execute(sa.text("DELETE FROM events WHERE seq > :s"), {"s": s[-5]}),
    "the first event edited": lambda c, s: c.execute(
        sa.text("UPDATE events SET reason = 'x' WHERE seq = :s"), {"s": s[0]}
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_what_one_process_finds_three_find(chain: Workflow, engine: sa.Engine, tampering: str) -> None:
    seqs = _event_seqs(engine)
    unprotect(engine, "events")
    with engine.begin() as conn:
        TAMPERINGS[tampering](conn, seqs)
    one, many = _same(chain)
    assert not one.ok and not many.ok


def test_a_kept_checkpoint_is_checked_in_whichever_range_holds_it(chain: Workflow, engine: sa.Engine) -> None:
    head = chain.audit.checkpoint()
    for against in (head, (head[0], "0" * 64), (head[0] + 50, head[1])):
        one = chain.audit.verify(against)
        many = chain.audit.verify(against, jobs=3)
        assert one.ok == (against == head)
        assert [(p.seq, p.what) for p in many.problems] == [(p.seq, p.what) for p in one.problems]


def test_the_cli_verifies_with_jobs_and_says_the_same(chain: Workflow, db_url: str) -> None:
    one = run_cli(db_url, "a", "audit", "verify", "--json")
    many = run_cli(db_url, "a", "audit", "verify", "--jobs", "3", "--json")
    assert one.exit_code == many.exit_code == 0, many.output
    assert json.loads(one.stdout) == json.loads(many.stdout)
    refused = run_cli(db_url, "a", "audit", "verify", "--jobs", "0")
    assert refused.exit_code == 2 and "--jobs" in refused.output


def test_progress_counts_every_row_of_the_chain(chain: Workflow) -> None:
    seen: list[int] = []
    report = chain.audit.verify(progress=seen.append, jobs=3)
    assert sum(seen) == report.checked + report.entries


def test_a_worker_that_fails_stops_the_verification_with_its_error(
    chain: Workflow, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from ektp_workflow._store.store import Store
    from ektp_workflow.errors import WorkflowError

    monkeypatch.setattr(Store, "worker_url", lambda self: f"sqlite:///{tmp_path / 'gone.db'}")
    with pytest.raises(WorkflowError, match="gone.db"):
        chain.audit.verify(jobs=3)
