"""The lifecycle as data: loading a definition and checking it before anything runs."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DefinitionError, TransitionNotAllowed
from ..i18n import _

#: ``source = "*"`` in a definition: every non-terminal state.
ANY_ACTIVE = "*"


@dataclass(frozen=True)
class StateSpec:
    """One state of the lifecycle and its metadata."""

    name: str
    label: str
    siak: str
    exceptional: bool = False
    terminal: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    """One edge: ``trigger`` moves a card from ``source`` to ``dest``."""

    trigger: str
    source: str
    dest: str
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    help: str = ""
    #: a card entering the queue by this edge keeps the place it had (its waiting time
    #: runs from when it joined by an edge that does not); by any other, at the event's time.
    keeps_place: bool = False


@dataclass(frozen=True)
class Lifecycle:
    """A validated lifecycle definition, with its content hash and transition table."""

    name: str
    initial: str
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    source: str
    hash: str = field(init=False)
    _table: dict[tuple[str, str], TransitionSpec] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", _content_hash(self))
        table = {(t.source, t.trigger): t for t in self.transitions}
        object.__setattr__(self, "_table", table)

    @property
    def triggers(self) -> list[str]:
        """Every trigger, in definition order."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def transition(self, state: str, trigger: str) -> TransitionSpec | None:
        """The edge ``trigger`` takes from ``state``, or None if it is not allowed."""
        return self._table.get((state, trigger))

    def triggers_from(self, state: str) -> list[str]:
        """The triggers allowed from ``state``, in definition order."""
        return [t.trigger for t in self.transitions if t.source == state]

    def fold(self, triggers: Iterable[str]) -> str:
        """The state reached by firing ``triggers`` in order from the initial state.

        Guards are not evaluated: this replays what was recorded.

        :raises TransitionNotAllowed: a trigger the table forbids from the state reached.
        """
        state = self.initial
        for trigger in triggers:
            edge = self._table.get((state, trigger))
            if edge is None:
                raise TransitionNotAllowed(trigger, state, self.triggers_from(state))
            state = edge.dest
        return state

    def sources_of(self, trigger: str) -> list[str]:
        """The states ``trigger`` may fire from."""
        return [t.source for t in self.transitions if t.trigger == trigger]


def load_lifecycle(path: str | Path, guards: Collection[str] = (), effects: Collection[str] = ()) -> Lifecycle:
    """Load and validate a lifecycle definition from a TOML file.

    :param guards: the guard names the caller can execute; any other is an error.
    :param effects: the effect names the caller can execute; any other is an error.
    :raises DefinitionError: listing every problem, each naming its key.
    """
    import tomllib  # loaded when a definition is read, not when the CLI starts

    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as err:
        raise DefinitionError(source, [_("cannot read: {error}").format(error=err or _("nested too deeply"))]) from err
    return lifecycle_from_dict(data, source, guards, effects)


def lifecycle_from_dict(
    data: Mapping[str, Any],
    source: str = "<dict>",
    guards: Collection[str] = (),
    effects: Collection[str] = (),
) -> Lifecycle:
    """Build and validate a lifecycle from already-parsed data (see ``load_lifecycle``)."""
    problems: list[str] = []
    states = _parse_states(data.get("states"), problems)
    transitions = _parse_transitions(data.get("transitions"), states, problems)
    initial = data.get("initial")
    if initial not in states:
        problems.append(_("{key}: {state!r} is not a declared state").format(key="initial", state=initial))
    name = data.get("name", "lifecycle")
    if not problems:
        problems += _check_names(transitions, guards, effects)
        problems += _check_graph(str(initial), states, transitions)
    if problems:
        raise DefinitionError(source, problems)
    return Lifecycle(str(name), str(initial), states, tuple(transitions), source)


def _parse_states(raw: Any, problems: list[str]) -> dict[str, StateSpec]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append(_("states: expected a table of states, e.g. [states.recorded]"))
        return {}
    states: dict[str, StateSpec] = {}
    for name, spec in raw.items():
        key = f"states.{name}"
        if not isinstance(spec, Mapping):
            problems.append(_("{key}: expected a table with label and siak").format(key=key))
            continue
        unknown = set(spec) - {"label", "siak", "exceptional", "terminal"}
        if unknown:
            problems.append(_unknown_keys(key, unknown))
        for text_key in ("label", "siak"):
            if not isinstance(spec.get(text_key), str) or not spec.get(text_key):
                problems.append(_("{key}: expected a non-empty string").format(key=f"{key}.{text_key}"))
        for flag in ("exceptional", "terminal"):
            if not isinstance(spec.get(flag, False), bool):
                problems.append(_not_a_flag(f"{key}.{flag}"))
        states[name] = StateSpec(
            name,
            str(spec.get("label", "")),
            str(spec.get("siak", "")),
            bool(spec.get("exceptional", False)),
            bool(spec.get("terminal", False)),
        )
    return states


def _parse_transitions(raw: Any, states: Mapping[str, StateSpec], problems: list[str]) -> list[TransitionSpec]:
    if not isinstance(raw, list) or not raw:
        problems.append(_("transitions: expected an array of [[transitions]] tables"))
        return []
    active = [s.name for s in states.values() if not s.terminal]
    parsed: list[TransitionSpec] = []
    for index, spec in enumerate(raw):
        key = f"transitions[{index}]"
        if not isinstance(spec, Mapping):
            problems.append(_("{key}: expected a table").format(key=key))
            continue
        parsed += _parse_transition(key, spec, states, active, problems)
    return _without_duplicate_edges(parsed, problems)


def _parse_transition(
    key: str,
    spec: Mapping[str, Any],
    states: Mapping[str, StateSpec],
    active: list[str],
    problems: list[str],
) -> list[TransitionSpec]:
    unknown = set(spec) - {"trigger", "source", "dest", "guards", "effects", "help", "keeps_place"}
    if unknown:
        problems.append(_unknown_keys(key, unknown))
    trigger = spec.get("trigger")
    if not isinstance(trigger, str) or not trigger.isidentifier():
        message = _("{key}: expected an identifier such as 'print_card', got {value!r}")
        problems.append(message.format(key=f"{key}.trigger", value=trigger))
        return []
    key = f"{key} ({trigger})"
    dest = spec.get("dest")
    if dest not in states:
        problems.append(_("{key}: {state!r} is not a declared state").format(key=f"{key}.dest", state=dest))
    sources = _sources(spec.get("source"), states, active, key, problems)
    names = {part: _names(spec.get(part, []), f"{key}.{part}", problems) for part in ("guards", "effects")}
    help_text = str(spec.get("help", ""))
    keeps_place = spec.get("keeps_place", False)
    if not isinstance(keeps_place, bool):
        problems.append(_not_a_flag(f"{key}.keeps_place"))
    return [
        TransitionSpec(trigger, source, str(dest), names["guards"], names["effects"], help_text, keeps_place is True)
        for source in sources
    ]


def _sources(raw: Any, states: Mapping[str, StateSpec], active: list[str], key: str, problems: list[str]) -> list[str]:
    if raw == ANY_ACTIVE:
        return active
    sources = [raw] if isinstance(raw, str) else raw
    if not isinstance(sources, list) or not sources:
        problems.append(_("{key}: expected a state, a list of states or '*'").format(key=f"{key}.source"))
        return []
    unknown = [s for s in sources if s not in states]
    if unknown:
        problems.append(_("{key}: {states} not declared states").format(key=f"{key}.source", states=unknown))
    return [s for s in sources if s in states]


def _names(raw: Any, key: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        problems.append(_("{key}: expected a list of names").format(key=key))
        return ()
    return tuple(raw)


def _without_duplicate_edges(transitions: list[TransitionSpec], problems: list[str]) -> list[TransitionSpec]:
    seen: set[tuple[str, str]] = set()
    for t in transitions:
        if (t.source, t.trigger) in seen:
            message = _("{key}: fires twice from {state!r}; a trigger needs one destination per state")
            problems.append(message.format(key=f"transitions ({t.trigger})", state=t.source))
        seen.add((t.source, t.trigger))
    return transitions


def _check_names(transitions: list[TransitionSpec], guards: Collection[str], effects: Collection[str]) -> list[str]:
    problems = []
    for t in transitions:
        for guard in t.guards:
            if guard not in guards:
                message = _("{key}: unknown guard {name!r}; known: {known}")
                problems.append(
                    message.format(key=f"transitions ({t.trigger}).guards", name=guard, known=sorted(guards))
                )
        for effect in t.effects:
            if effect not in effects:
                message = _("{key}: unknown effect {name!r}; known: {known}")
                problems.append(
                    message.format(key=f"transitions ({t.trigger}).effects", name=effect, known=sorted(effects))
                )
    return list(dict.fromkeys(problems))


def _check_graph(initial: str, states: Mapping[str, StateSpec], transitions: list[TransitionSpec]) -> list[str]:
    exits: dict[str, set[str]] = {name: set() for name in states}
    for t in transitions:
        exits[t.source].add(t.dest)
    problems = []
    for name, spec in states.items():
        if spec.terminal and exits[name]:
            message = _("{key}: terminal, but has exits to {states}")
            problems.append(message.format(key=f"states.{name}", states=sorted(exits[name])))
    reachable = _reachable(initial, exits)
    for name in states:
        if name not in reachable:
            message = _("{key}: not reachable from the initial state {state!r}")
            problems.append(message.format(key=f"states.{name}", state=initial))
    terminals = {n for n, s in states.items() if s.terminal}
    for name, spec in states.items():
        if not spec.terminal and not (_reachable(name, exits) & terminals):
            problems.append(_("{key}: a trap: no path from it to a terminal state").format(key=f"states.{name}"))
    return problems


def _unknown_keys(key: str, unknown: set[str]) -> str:
    return _("{key}: unknown keys {keys}").format(key=key, keys=sorted(unknown))


def _not_a_flag(key: str) -> str:
    return _("{key}: expected true or false").format(key=key)


def _reachable(start: str, exits: Mapping[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in exits[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _content_hash(lifecycle: Lifecycle) -> str:
    """SHA-256 of a canonical encoding: independent of formatting and comments."""
    canonical = {
        "name": lifecycle.name,
        "initial": lifecycle.initial,
        "states": {n: vars(s) for n, s in sorted(lifecycle.states.items())},
        # An edge that keeps a card's place says so; every other edge is encoded as before
        # the flag existed, so the hashes of lifecycles stored then stay as they were.
        "transitions": sorted(
            [t.trigger, t.source, t.dest, list(t.guards), list(t.effects), *(["keeps_place"] if t.keeps_place else [])]
            for t in lifecycle.transitions
        ),
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    import hashlib  # as tomllib above

    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
