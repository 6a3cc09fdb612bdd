"""Properties of the lifecycle under random trigger sequences (hypothesis)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp_workflow import TransitionNotAllowed, Workflow, default_lifecycle
from ektp_workflow._store.schema import cards, residents

from .factories import make_resident

LIFECYCLE = default_lifecycle()
ACTOR = "hypothesis"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(triggers=st.lists(st.sampled_from(LIFECYCLE.triggers), max_size=25))
def test_random_triggers_never_leave_the_table_and_state_equals_the_fold(
    workflow: Workflow, engine: sa.Engine, triggers: list[str]
) -> None:
    resident = make_resident(born=dt.date(1980, 1, 1))
    workflow.register([resident], actor=ACTOR)
    reference = f"b-{resident.nik}"
    workflow.blanks.receive(reference, 3, actor=ACTOR)
    workflow.blanks.distribute(reference, counts={resident.kecamatan: 3}, actor=ACTOR)
    expected = LIFECYCLE.initial
    for trigger in triggers:
        edge = LIFECYCLE.transition(expected, trigger)
        try:
            workflow.fire(resident.nik, trigger, actor=ACTOR)
        except TransitionNotAllowed:
            assert edge is None or edge.guards, f"{trigger} from {expected} was refused"
            continue
        assert edge is not None, f"{trigger} from {expected} is not in the table but was applied"
        expected = edge.dest

    card = workflow.card(resident.nik)
    history = workflow.history(resident.nik)
    assert card.state == expected
    assert card.state == LIFECYCLE.fold(e.trigger for e in history[1:])
    assert [e.version for e in history] == list(range(1, card.version + 1))
    assert all(a.to_state == b.from_state for a, b in zip(history, history[1:]))
    with engine.connect() as conn:
        held = conn.scalar(
            sa.select(cards.c.blank_batch_id)
            .select_from(cards.join(residents, cards.c.id == residents.c.id))
            .where(residents.c.nik == resident.nik)
        )
    assert (held is not None) == (card.state == "allocated"), "a card holds a blank exactly while allocated"
    assert workflow.blanks.problems() == []
