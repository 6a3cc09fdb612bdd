"""Integrators' feed: reading events after a sequence number never skips one."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp_workflow import FireRequest, Workflow

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident
from .test_allocation import LONGEST_WAITING_ONLY, queue, stock, write_rules

WRITERS = 4
CARDS_PER_WRITER = 25


def _writer(url: str, niks: list[str]) -> None:
    with Workflow.open(url) as workflow:
        for nik in niks:
            workflow.fire(nik, "record", actor="writer")
            workflow.fire(nik, "submit", actor="writer")


def test_a_polling_reader_misses_nothing_while_writers_commit_concurrently(
    engine: sa.Engine, workflow: Workflow, db_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent commits out of order are a PostgreSQL matter; SQLite has one writer")
    residents = [make_resident() for _ in range(WRITERS * CARDS_PER_WRITER)]
    workflow.register(residents, actor="setup")
    start = workflow.audit.checkpoint()[0]
    niks = [r.nik for r in residents]
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(db_url, niks[i::WRITERS])) for i in range(WRITERS)]
    for process in writers:
        process.start()
    seen, after = [], start
    while any(p.is_alive() for p in writers) or workflow.events_after(after, limit=1):
        page = workflow.events_after(after, limit=7)
        seen += [e.seq for e in page]
        after = page[-1].seq if page else after
        time.sleep(0.001)  # poll politely; correctness does not depend on timing
    for process in writers:
        process.join()
        assert process.exitcode == 0
    expected = WRITERS * CARDS_PER_WRITER * 2
    assert seen == list(range(start + 1, start + expected + 1)), "gapless, in order, nothing skipped"


OPERATIONS = st.lists(
    st.sampled_from(["queue", "stock", "allocate", "print", "rules", "rollback", "die", "central"]), max_size=10
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, data=st.data())
def test_replay_equals_stored_state_after_random_workloads(
    workflow: Workflow, tmp_path_factory: pytest.TempPathFactory, operations: list[str], data: st.DataObject
) -> None:
    rules = write_rules(tmp_path_factory.mktemp("rules"), LONGEST_WAITING_ONLY)
    for operation in operations:
        kecamatan = data.draw(st.sampled_from([ITS, SAKO]))
        if operation == "queue":
            queue(workflow, kecamatan, data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3)))
        elif operation == "stock":
            stock(workflow, {kecamatan: data.draw(st.integers(1, 3))}, reference=f"S-{uuid.uuid4().hex}")
        elif operation == "allocate":
            workflow.allocate(actor="op")
        elif operation == "print":
            workflow.fire_many(
                [FireRequest(c.nik, "print_card") for c in workflow.cards(state="allocated")], actor="op"
            )
        elif operation == "rules" and workflow.rules.active().version == 1:
            workflow.rules.apply(rules, actor="kadis", reason="test")
        elif operation == "rollback" and workflow.rules.active().version != 1:
            workflow.rules.rollback(1, actor="kadis", reason="test")
        elif operation == "die":
            for card in workflow.cards(state="allocated", limit=1):
                workflow.fire(card.nik, "die", actor="op")
        elif operation == "central":
            resident = make_resident(kecamatan)
            workflow.register([resident], actor="op")
            workflow.fire_many(
                [FireRequest(resident.nik, t) for t in ("record", "submit", "flag_duplicate")], actor="op"
            )
    assert workflow.audit.compare() == []
    assert workflow.audit.verify().ok
