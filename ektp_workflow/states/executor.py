"""The one engine that runs transitions: the lifecycle's table compiled into steps.

Each edge of the table becomes a ``Step``: its destination, and its guards and effects
bound to the functions that do them. A single fire and a bulk chunk ask the same
``Executor`` for the step a trigger takes from a card's state, check its guards on the
card, and apply its effects; a step with neither (most of them) only changes the state.
Compiled once per lifecycle and shared by every card: nothing is built per card.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import GuardFailed, TransitionNotAllowed, UnknownTrigger
from .definition import Lifecycle

#: A guard returns None to allow the transition, or the reason it refuses.
Guard = Callable[[Any], str | None]
#: An effect does its work in the same transaction as the state change.
Effect = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Step:
    """What ``trigger`` does to a card in ``source``: its guards, in order, then its effects."""

    trigger: str
    source: str
    dest: str
    guards: tuple[tuple[str, Guard], ...] = ()
    effects: tuple[Effect, ...] = ()
    #: entering the queue by it, a card keeps its place (``TransitionSpec.keeps_place``).
    keeps_place: bool = False
    #: no guard and no effect: the step only changes the state, and needs no context.
    plain: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", not self.guards and not self.effects)

    def refusal(self, context: Any) -> tuple[str, str] | None:
        """The first guard that refuses, and why; None when every guard allows it."""
        for name, guard in self.guards:
            reason = guard(context)
            if reason is not None:
                return name, reason
        return None

    def apply(self, context: Any) -> None:
        """Do the step's effects, in order (its guards are checked already)."""
        for effect in self.effects:
            effect(context)

    def run(self, context: Any) -> str:
        """Check the guards, then apply the effects; return the destination.

        :raises GuardFailed: naming the first guard that refused, and why.
        """
        refused = self.refusal(context)
        if refused is not None:
            raise GuardFailed(self.trigger, self.source, *refused)
        self.apply(context)
        return self.dest


class Executor:
    """A lifecycle's steps, by state and trigger."""

    def __init__(self, lifecycle: Lifecycle, guards: Mapping[str, Guard], effects: Mapping[str, Effect]) -> None:
        """:raises KeyError: the lifecycle names a guard or effect not given (a lifecycle
        loaded with these names never does)."""
        self.lifecycle = lifecycle
        self._steps = {
            (t.source, t.trigger): Step(
                t.trigger,
                t.source,
                t.dest,
                tuple((g, guards[g]) for g in t.guards),
                tuple(effects[e] for e in t.effects),
                t.keeps_place,
            )
            for t in lifecycle.transitions
        }
        self._triggers = frozenset(lifecycle.triggers)

    def find(self, state: str, trigger: str) -> Step | None:
        """The step ``trigger`` takes from ``state``, or None if it does not fire from there."""
        return self._steps.get((state, trigger))

    def step(self, state: str, trigger: str) -> Step:
        """The step ``trigger`` takes from ``state``.

        :raises UnknownTrigger: the lifecycle has no such trigger.
        :raises TransitionNotAllowed: it does not fire from ``state``.
        """
        found = self._steps.get((state, trigger))
        if found is not None:
            return found
        if trigger not in self._triggers:
            raise UnknownTrigger(trigger, self.lifecycle.triggers)
        raise TransitionNotAllowed(trigger, state, self.lifecycle.triggers_from(state))
