"""Optimistic concurrency between sessions, and idempotent retries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ektp_workflow import ConcurrencyError, Workflow, create_engine
from ektp_workflow.errors import IdempotencyConflict

from .conftest import snapshot
from .factories import make_resident

ACTOR = "siak-adapter"


@pytest.fixture
def nik(workflow: Workflow) -> str:
    resident = make_resident()
    workflow.register([resident], actor=ACTOR)
    return resident.nik


def test_a_stale_session_is_refused_and_changes_nothing(
    workflow: Workflow, engine: sa.Engine, db_url: str, nik: str
) -> None:
    other_engine = create_engine(db_url)
    other = Workflow(other_engine)
    seen_by_other = other.card(nik)

    workflow.fire(nik, "record", actor="kec-05/op-1")
    before = snapshot(engine)

    with pytest.raises(ConcurrencyError) as stale:
        other.fire(nik, "record", actor="kec-05/op-2", expected_version=seen_by_other.version)
    assert (stale.value.expected_version, stale.value.actual_version) == (1, 2)
    assert stale.value.retryable
    assert snapshot(engine) == before
    other_engine.dispose()


def test_a_current_version_is_accepted(workflow: Workflow, nik: str) -> None:
    card = workflow.card(nik)
    event = workflow.fire(nik, "record", actor=ACTOR, expected_version=card.version)
    assert event.version == card.version + 1


def test_the_same_idempotency_key_applies_once_and_returns_the_first_event(
    workflow: Workflow, engine: sa.Engine, nik: str
) -> None:
    first = workflow.fire(nik, "record", actor=ACTOR, idempotency_key="rec-0001")
    before = snapshot(engine)
    again = workflow.fire(nik, "record", actor=ACTOR, idempotency_key="rec-0001")
    assert again == first
    assert snapshot(engine) == before
    assert workflow.card(nik).state == "recorded"


def test_an_idempotency_key_reused_for_another_trigger_is_a_conflict(workflow: Workflow, nik: str) -> None:
    workflow.fire(nik, "record", actor=ACTOR, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict, match="record on"):
        workflow.fire(nik, "submit", actor=ACTOR, idempotency_key="k-1")


def test_idempotent_retry_from_another_session_returns_the_first_event(
    workflow: Workflow, db_url: str, nik: str
) -> None:
    first = workflow.fire(nik, "record", actor=ACTOR, idempotency_key="net-retry")
    other_engine = create_engine(db_url)
    assert Workflow(other_engine).fire(nik, "record", actor=ACTOR, idempotency_key="net-retry") == first
    other_engine.dispose()
    assert [e.trigger for e in workflow.history(nik)] == ["register", "record"]
