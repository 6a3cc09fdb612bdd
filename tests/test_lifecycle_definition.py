"""The lifecycle is data, checked when it loads; one executor, compiled once, runs it."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

import pytest
import transitions

from ektp_workflow import Workflow, default_lifecycle
from ektp_workflow._services.lifecycle import EFFECTS, GUARDS
from ektp_workflow.errors import DefinitionError, GuardFailed, TransitionNotAllowed, UnknownTrigger
from ektp_workflow.states import Executor, diagram, lifecycle_from_dict, load_lifecycle

from .factories import make_resident

SHIPPED = tomllib.loads((resources.files("ektp_workflow.states") / "lifecycle.toml").read_text("utf-8"))


def load(data: dict[str, Any]) -> Any:
    return lifecycle_from_dict(data, "test.toml", GUARDS, EFFECTS)


def edited(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


def test_the_shipped_lifecycle_has_the_e_ktp_states_and_metadata() -> None:
    lifecycle = default_lifecycle()
    assert lifecycle.initial == "unrecorded"
    assert set(lifecycle.states) == {
        "unrecorded",
        "recorded",
        "prr",
        "deduplicated",
        "allocated",
        "printed",
        "collected",
        "duplicate",
        "enroll_failed",
        "deceased",
        "moved",
    }
    assert {n for n, s in lifecycle.states.items() if s.terminal} == {"deceased", "moved"}
    assert lifecycle.states["duplicate"].siak == "DUPLICATE_RECORD"
    assert all(s.label for s in lifecycle.states.values())


def test_die_and_move_out_fire_from_every_non_terminal_state() -> None:
    lifecycle = default_lifecycle()
    active = {n for n, s in lifecycle.states.items() if not s.terminal}
    assert set(lifecycle.sources_of("die")) == active == set(lifecycle.sources_of("move_out"))


def test_the_hash_ignores_formatting_but_not_content() -> None:
    assert load(copy.deepcopy(SHIPPED)).hash == default_lifecycle().hash
    changed = edited(lambda d: d["states"]["prr"].update(label="Menunggu"))
    assert load(changed).hash != default_lifecycle().hash


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(initial="nowhere"), "initial: 'nowhere' is not a declared state"),
        (
            lambda d: d["transitions"].append({"trigger": "revive", "source": "deceased", "dest": "recorded"}),
            "states.deceased: terminal, but has exits",
        ),
        (lambda d: d["states"].update(limbo={"label": "x", "siak": "X"}), "states.limbo: not reachable"),
        (
            lambda d: (
                d["transitions"].append({"trigger": "hold", "source": "collected", "dest": "limbo"})
                or d["states"].update(limbo={"label": "x", "siak": "X"})
                or _only_exit_to_self(d, "limbo")
            ),
            "states.limbo: a trap",
        ),
        (lambda d: d["transitions"][0].update(guards=["is_blessed"]), "unknown guard 'is_blessed'"),
        (lambda d: d["transitions"][0].update(effects=["send_sms"]), "unknown effect 'send_sms'"),
        (lambda d: d["transitions"][0].update(dest="recordd"), "dest: 'recordd' is not a declared state"),
        (lambda d: d["transitions"][0].update(trigger="print card"), "expected an identifier"),
        (lambda d: d["states"]["prr"].update(colour="red"), "states.prr: unknown keys ['colour']"),
        (lambda d: d["states"]["prr"].pop("siak"), "states.prr.siak: expected a non-empty string"),
        (
            lambda d: d["transitions"].append({"trigger": "record", "source": "unrecorded", "dest": "prr"}),
            "fires twice from 'unrecorded'",
        ),
    ],
)
def test_an_invalid_definition_is_refused_naming_the_key(change: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        load(edited(change))
    assert message in str(refused.value)
    assert "test.toml" in str(refused.value)


def _only_exit_to_self(data: dict[str, Any], state: str) -> None:
    # A state whose only way out leads back into itself (die/move_out excluded).
    data["states"][state]["terminal"] = False
    for t in data["transitions"]:
        if t["source"] == "*":
            t["source"] = [s for s, spec in data["states"].items() if not spec.get("terminal") and s != state]


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Any) -> None:
    bad = tmp_path / "lifecycle.toml"
    bad.write_text("initial = \n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="lifecycle.toml: cannot read"):
        load_lifecycle(bad, GUARDS, EFFECTS)


def test_fold_replays_triggers_through_the_table() -> None:
    lifecycle = default_lifecycle()
    assert lifecycle.fold(["record", "submit", "flag_duplicate", "resolve_duplicate"]) == "deduplicated"
    with pytest.raises(Exception, match="'print_card' is not allowed from state 'recorded'"):
        lifecycle.fold(["record", "print_card"])


def test_no_machine_is_built_per_card(workflow: Workflow, monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    original = transitions.Machine.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting)
    residents = [make_resident() for _ in range(25)]
    workflow.register(residents, actor="test")
    for resident in residents:
        workflow.fire(resident.nik, "record", actor="test")
        workflow.fire(resident.nik, "submit", actor="test")
    assert built == []


def test_every_step_is_the_tables_edge_with_its_guards_and_effects_in_order() -> None:
    lifecycle = default_lifecycle()
    executor = Executor(lifecycle, GUARDS, EFFECTS)
    for state in lifecycle.states:
        for trigger in lifecycle.triggers:
            edge, step = lifecycle.transition(state, trigger), executor.find(state, trigger)
            if edge is None:
                assert step is None
                with pytest.raises(TransitionNotAllowed) as refused:
                    executor.step(state, trigger)
                assert refused.value.allowed == lifecycle.triggers_from(state)
                continue
            assert step is not None and step is executor.step(state, trigger)
            assert (step.source, step.trigger, step.dest) == (edge.source, edge.trigger, edge.dest)
            assert [name for name, _ in step.guards] == list(edge.guards)
            assert [g for _, g in step.guards] == [GUARDS[g] for g in edge.guards]
            assert list(step.effects) == [EFFECTS[e] for e in edge.effects]
            assert step.plain == (not edge.guards and not edge.effects)
    with pytest.raises(UnknownTrigger):
        executor.step("recorded", "teleport")


def test_a_refusing_guard_stops_the_step_before_later_guards_and_every_effect() -> None:
    calls: list[str] = []
    data = edited(lambda d: d["transitions"][0].update(guards=["first", "second"], effects=["one", "two"]))
    lifecycle = lifecycle_from_dict(data, "test.toml", {*GUARDS, "first", "second"}, {*EFFECTS, "one", "two"})
    edge = lifecycle.transitions[0]

    def guard(name: str, refuse: bool) -> Any:
        return lambda ctx: calls.append(name) or ("no" if refuse else None)

    def effect(name: str) -> Any:
        return lambda ctx: calls.append(name)

    allowing = Executor(
        lifecycle,
        {**GUARDS, "first": guard("first", False), "second": guard("second", False)},
        {**EFFECTS, "one": effect("one"), "two": effect("two")},
    )
    assert allowing.step(edge.source, edge.trigger).run(None) == edge.dest
    assert calls == ["first", "second", "one", "two"]
    calls.clear()
    refusing = Executor(
        lifecycle,
        {**GUARDS, "first": guard("first", True), "second": guard("second", False)},
        {**EFFECTS, "one": effect("one"), "two": effect("two")},
    )
    with pytest.raises(GuardFailed) as refused:
        refusing.step(edge.source, edge.trigger).run(None)
    assert (refused.value.guard, refused.value.reason, refused.value.state) == ("first", "no", edge.source)
    assert calls == ["first"]


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagrams_show_every_trigger_and_guard(fmt: str) -> None:
    text = diagram(default_lifecycle(), fmt)
    for trigger in default_lifecycle().triggers:
        assert trigger in text
    assert "allocate [blank_available]" in text


@pytest.mark.parametrize("path", ["sqlalchemy", "driver"])
def test_a_lifecycle_stored_by_a_transaction_that_rolled_back_is_stored_again(engine: Any, path: str) -> None:
    """The process remembers which lifecycles the database holds; one its own open
    transaction inserted is not held yet: if that transaction rolls back, the next
    write must store it again, or its events would name a lifecycle replay cannot find."""
    import sqlalchemy as sa

    from ektp_workflow import FireRequest
    from ektp_workflow._store.schema import events, lifecycles

    people = [make_resident() for _ in range(3)]
    Workflow(engine).register(people, actor="test")
    relabelled = Workflow(engine, load(edited(lambda d: d["states"]["recorded"].update(label="Sudah rekam"))))
    # the first fire stores the new lifecycle, the second finds it, the third is refused
    with pytest.raises(Exception):
        relabelled.fire_many(
            [FireRequest(p.nik, "record") for p in people[:2]] + [FireRequest(people[2].nik, "collect")], actor="test"
        )
    if path == "driver":
        relabelled.fire(people[0].nik, "record", actor="test")
    else:
        relabelled.fire_many([FireRequest(people[0].nik, "record")], actor="test")
    with engine.connect() as conn:
        used = set(conn.scalars(sa.select(events.c.lifecycle_hash)))
        stored = set(conn.scalars(sa.select(lifecycles.c.hash)))
    assert relabelled.lifecycle.hash in used and used <= stored
    folded, _ = relabelled.audit.replay()
    assert not folded.problems


def test_a_lifecycle_a_callers_rolled_back_transaction_stored_is_stored_again(engine: Any) -> None:
    """A workflow on the caller's Connection leaves no record of what it stored in the
    connection once the caller rolls back: a later transaction on the same pooled
    connection, storing another lifecycle, must not count the first as stored."""
    import sqlalchemy as sa

    from ektp_workflow._store.schema import events, lifecycles

    people = [make_resident() for _ in range(2)]
    Workflow(engine).register(people, actor="test")
    first = load(edited(lambda d: d["states"]["recorded"].update(label="Sudah rekam")))
    second = load(edited(lambda d: d["states"]["recorded"].update(label="Telah direkam")))
    with engine.connect() as conn:  # the pool's one connection
        Workflow(conn, first).fire(people[0].nik, "record", actor="test")
        conn.rollback()
    Workflow(engine, second).fire(people[0].nik, "record", actor="test")  # on the same connection
    Workflow(engine, first).fire(people[1].nik, "record", actor="test")
    with engine.connect() as conn:
        used = set(conn.scalars(sa.select(events.c.lifecycle_hash)))
        stored = set(conn.scalars(sa.select(lifecycles.c.hash)))
    assert {first.hash, second.hash} <= used and used <= stored
    folded, _ = Workflow(engine).audit.replay()
    assert not folded.problems
