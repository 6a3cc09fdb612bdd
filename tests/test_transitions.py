"""Every transition the lifecycle allows works; every other one is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest
import sqlalchemy as sa

from ektp_workflow import TransitionNotAllowed, Workflow, WorkflowError, clock, default_lifecycle
from ektp_workflow.errors import CardNotFound, GuardFailed, InvalidNIK, MissingActor, UnknownTrigger

from .conftest import snapshot
from .factories import make_nik, make_resident

LIFECYCLE = default_lifecycle()
ACTOR = "kec-05/operator-1"


def path_to(state: str) -> list[str]:
    """The shortest trigger sequence from the initial state to ``state``."""
    paths = {LIFECYCLE.initial: []}
    queue = deque([LIFECYCLE.initial])
    while queue:
        current = queue.popleft()
        for trigger in LIFECYCLE.triggers_from(current):
            dest = LIFECYCLE.transition(current, trigger).dest
            if dest not in paths:
                paths[dest] = paths[current] + [trigger]
                queue.append(dest)
    return paths[state]


def card_in(
    workflow: Workflow, state: str, registered_at: dt.datetime | None = None, **resident_options: object
) -> str:
    """Register a resident and walk their card to ``state``; return the NIK."""
    resident = make_resident(**resident_options)  # type: ignore[arg-type]
    workflow.register([resident], actor=ACTOR, at=registered_at)
    for trigger in path_to(state):
        if trigger == "allocate":
            stock_blanks(workflow, resident.kecamatan)
        workflow.fire(resident.nik, trigger, actor=ACTOR)
    return resident.nik


def stock_blanks(workflow: Workflow, kecamatan: str, count: int = 5) -> None:
    reference = f"test-batch-{kecamatan}-{dt.datetime.now().timestamp()}"
    workflow.blanks.receive(reference, count, actor=ACTOR)
    workflow.blanks.distribute(reference, counts={kecamatan: count}, actor=ACTOR)


@pytest.mark.parametrize("edge", LIFECYCLE.transitions, ids=[f"{t.source}-{t.trigger}" for t in LIFECYCLE.transitions])
def test_allowed_transition_moves_the_card_and_appends_one_event(workflow: Workflow, edge) -> None:  # type: ignore[no-untyped-def]
    nik = card_in(workflow, edge.source)
    if edge.trigger == "allocate":
        stock_blanks(workflow, workflow.card(nik).kecamatan)
    before = workflow.history(nik)

    if edge.trigger == "requeue":  # a card waits again only when no blank is left for it
        kecamatan = workflow.card(nik).kecamatan
        left = sum(line.unallocated for line in workflow.blanks.stock() if line.kecamatan == kecamatan)
        workflow.blanks.spoil(kecamatan, left, actor=ACTOR, reason="water damage")
    if edge.trigger == "replace":  # a replacement says why (``Workflow.replace``)
        event = workflow.replace(nik, "lost", reference="LP/1", actor=ACTOR, reason="test").event
    else:
        event = workflow.fire(nik, edge.trigger, actor=ACTOR, reason="test")

    card = workflow.card(nik)
    assert (card.state, card.version) == (edge.dest, before[-1].version + 1)
    assert workflow.history(nik) == before + [event]
    assert (event.trigger, event.from_state, event.to_state) == (edge.trigger, edge.source, edge.dest)
    assert (event.actor, event.reason, event.lifecycle_hash) == (ACTOR, "test", LIFECYCLE.hash)


@pytest.mark.parametrize("state", list(LIFECYCLE.states))
def test_disallowed_triggers_are_refused_and_change_nothing(workflow: Workflow, engine: sa.Engine, state: str) -> None:
    nik = card_in(workflow, state)
    stock_blanks(workflow, workflow.card(nik).kecamatan)
    before = snapshot(engine)
    disallowed = [t for t in LIFECYCLE.triggers if LIFECYCLE.transition(state, t) is None]
    assert disallowed, "every state forbids some trigger"
    for trigger in disallowed:
        with pytest.raises(TransitionNotAllowed) as refused:
            workflow.fire(nik, trigger, actor=ACTOR)
        assert (refused.value.trigger, refused.value.state) == (trigger, state)
        assert snapshot(engine) == before


def test_terminal_states_allow_nothing(workflow: Workflow) -> None:
    nik = card_in(workflow, "deceased")
    for trigger in LIFECYCLE.triggers:
        with pytest.raises(TransitionNotAllowed):
            workflow.fire(nik, trigger, actor=ACTOR)


def test_recording_a_15_year_old_is_refused_by_the_age_guard(workflow: Workflow, engine: sa.Engine) -> None:
    today = clock.now().date()
    nik = card_in(workflow, "unrecorded", born=today.replace(year=today.year - 16) + dt.timedelta(days=1))
    before = snapshot(engine)
    with pytest.raises(GuardFailed) as refused:
        workflow.fire(nik, "record", actor=ACTOR)
    assert refused.value.guard == "age_at_least_16"
    assert "recording starts at 16" in str(refused.value)
    assert snapshot(engine) == before


def test_recording_on_the_16th_birthday_is_allowed_in_local_time(workflow: Workflow) -> None:
    at = dt.datetime(2016, 3, 15, 0, 30, tzinfo=clock.WIB)  # still 14 March in UTC
    nik = card_in(workflow, "unrecorded", registered_at=at - dt.timedelta(days=30), born=dt.date(2000, 3, 15))
    assert workflow.fire(nik, "record", actor=ACTOR, at=at).to_state == "recorded"


def test_age_guard_counts_on_the_event_date_not_today(workflow: Workflow) -> None:
    workflow_time = dt.datetime(2024, 5, 31, 10, tzinfo=dt.UTC)
    nik = card_in(workflow, "unrecorded", registered_at=workflow_time, born=dt.date(2008, 6, 1))
    with pytest.raises(GuardFailed):
        workflow.fire(nik, "record", actor=ACTOR, at=workflow_time)


def test_allocate_without_stock_is_refused_by_its_guard(workflow: Workflow, engine: sa.Engine) -> None:
    nik = card_in(workflow, "deduplicated")
    before = snapshot(engine)
    with pytest.raises(GuardFailed) as refused:
        workflow.fire(nik, "allocate", actor=ACTOR)
    assert refused.value.guard == "blank_available"
    assert snapshot(engine) == before


def test_unknown_trigger_names_the_known_ones(workflow: Workflow, engine: sa.Engine) -> None:
    nik = card_in(workflow, "unrecorded")
    before = snapshot(engine)
    with pytest.raises(UnknownTrigger, match="expected one of: record, submit"):
        workflow.fire(nik, "rekam", actor=ACTOR)
    assert snapshot(engine) == before


def test_a_change_without_actor_is_refused(workflow: Workflow, engine: sa.Engine) -> None:
    nik = card_in(workflow, "unrecorded")
    before = snapshot(engine)
    with pytest.raises(MissingActor):
        workflow.fire(nik, "record", actor="  ")
    assert snapshot(engine) == before


def test_unknown_and_malformed_niks_are_told_apart(workflow: Workflow) -> None:
    with pytest.raises(CardNotFound):
        workflow.fire(make_nik(), "record", actor=ACTOR)
    with pytest.raises(InvalidNIK):
        workflow.fire("12345", "record", actor=ACTOR)


def test_event_time_cannot_go_back_before_the_cards_last_event(workflow: Workflow) -> None:
    nik = card_in(workflow, "recorded")
    with pytest.raises(WorkflowError, match="before its last event"):
        workflow.fire(nik, "submit", actor=ACTOR, at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))


def test_an_event_happens_when_recorded_unless_its_time_is_given(workflow: Workflow) -> None:
    nik = card_in(workflow, "recorded")
    before = dt.datetime.now(dt.UTC)
    now = workflow.fire(nik, "submit", actor=ACTOR)
    assert before <= now.occurred_at == now.recorded_at <= dt.datetime.now(dt.UTC)
    earlier = now.occurred_at + dt.timedelta(microseconds=1)
    given = workflow.fire(nik, "confirm_single", actor=ACTOR, at=earlier)
    assert given.occurred_at == earlier and given.recorded_at > earlier
    assert workflow.history(nik)[-2:] == [now, given]


def test_event_time_must_carry_a_timezone(workflow: Workflow) -> None:
    nik = card_in(workflow, "unrecorded")
    with pytest.raises(WorkflowError, match="no timezone"):
        workflow.fire(nik, "record", actor=ACTOR, at=dt.datetime(2025, 1, 1, 9))
