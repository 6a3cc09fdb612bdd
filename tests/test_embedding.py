"""Integrators: the API on their own connection and transaction, the event feed, listings."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ektp_workflow
from ektp_workflow import Workflow, WorkflowError
from ektp_workflow.errors import SchemaError

from .factories import PALEMBANG_SAKO, make_resident

ACTOR = "front-office"


def test_public_api_is_small_and_explicit() -> None:
    assert len(ektp_workflow.__all__) <= 20
    for name in ektp_workflow.__all__:
        assert getattr(ektp_workflow, name).__doc__, f"{name} has no docstring"


def test_calls_on_a_callers_connection_commit_with_the_caller(engine: sa.Engine) -> None:
    resident = make_resident()
    with engine.connect() as conn:
        workflow = Workflow(conn)
        workflow.register([resident], actor=ACTOR)
        workflow.fire(resident.nik, "record", actor=ACTOR)
        conn.rollback()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM residents")) == 0

    with engine.connect() as conn:
        workflow = Workflow(conn)
        workflow.register([resident], actor=ACTOR)
        workflow.fire(resident.nik, "record", actor=ACTOR)
        conn.commit()
    assert Workflow(engine).card(resident.nik).state == "recorded"


def test_a_refused_call_leaves_the_callers_transaction_usable(engine: sa.Engine) -> None:
    resident = make_resident()
    with engine.connect() as conn:
        workflow = Workflow(conn)
        workflow.register([resident], actor=ACTOR)
        with pytest.raises(WorkflowError):
            workflow.fire(resident.nik, "collect", actor=ACTOR)
        workflow.fire(resident.nik, "record", actor=ACTOR)
        conn.commit()
    assert [e.trigger for e in Workflow(engine).history(resident.nik)] == ["register", "record"]


def test_open_accepts_a_url(db_url: str, engine: sa.Engine) -> None:
    with Workflow.open(db_url) as workflow:
        assert workflow.counts() == {}


def test_a_database_without_schema_is_refused_with_the_fix(db_url: str) -> None:
    with pytest.raises(SchemaError, match="ektp db upgrade"):
        Workflow.open(db_url)


def test_event_feed_pages_by_sequence_without_gaps_or_repeats(workflow: Workflow) -> None:
    residents = [make_resident() for _ in range(7)]
    workflow.register(residents, actor=ACTOR)
    for resident in residents:
        workflow.fire(resident.nik, "record", actor=ACTOR)
    seen, after = [], 0
    while page := workflow.events_after(after, limit=3):
        seen += page
        after = page[-1].seq
    assert len(seen) == 14
    assert [e.seq for e in seen] == sorted({e.seq for e in seen})


def test_cards_list_by_state_and_current_kecamatan(workflow: Workflow) -> None:
    here, there = make_resident(), make_resident(kecamatan=PALEMBANG_SAKO)
    workflow.register([here, there], actor=ACTOR)
    workflow.fire(there.nik, "record", actor=ACTOR)
    assert [c.nik for c in workflow.cards(state="recorded")] == [there.nik]
    assert [c.nik for c in workflow.cards(kecamatan="167108")] == [there.nik]
    assert [c.nik for c in workflow.cards(state="unrecorded", kecamatan="16.71.05")] == [here.nik]
    with pytest.raises(WorkflowError, match="unknown state 'printing'"):
        workflow.cards(state="printing")


def test_errors_keep_their_data_across_processes() -> None:
    import pickle

    from ektp_workflow.errors import GuardFailed, InputFileError, RowProblem

    for error in (
        GuardFailed("allocate", "deduplicated", "blank_available", "no blank"),
        InputFileError("x.csv", [RowProblem(3, "bad NIK")]),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), vars(copy)) == (type(error), str(error), vars(error))
