"""The one shared ``transitions.Machine`` that fires single transitions.

A Machine costs about a millisecond and 60 KB to build, so one is compiled per
lifecycle and reused for every card: it is built with ``model=None`` and each fire
passes a lightweight card object to the event, never ``add_model``.

A transition with nothing to run (no guard, no effect, no callback of the Machine or
of its two states) only changes the state: ``plain_destination`` gives its destination,
read once from the Machine's own transition, so that the caller can skip the event
machinery and the guards' context (about 10 µs a fire, a tenth of a single
transition's work without the disk); ``fire`` runs everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine, MachineError

from ..errors import GuardFailed, TransitionNotAllowed, UnknownTrigger
from .definition import Lifecycle

#: A guard returns None to allow the transition, or the reason it refuses.
Guard = Callable[[Any], str | None]
#: An effect does its work in the same transaction as the state change.
Effect = Callable[[Any], None]


@dataclass
class CardSubject:
    """The lightweight object the shared Machine moves: a state and a context."""

    state: str
    context: Any = field(default=None, repr=False)


class CompiledMachine:
    """A lifecycle compiled into one Machine with its guards and effects bound."""

    def __init__(
        self, lifecycle: Lifecycle, guards: Mapping[str, Guard], effects: Mapping[str, Effect]
    ) -> None:
        self.lifecycle = lifecycle
        self._machine = Machine(
            model=None,
            states=list(lifecycle.states),
            initial=lifecycle.initial,
            transitions=[self._edge(t, guards, effects) for t in lifecycle.transitions],
            auto_transitions=False,
            send_event=True,
        )
        #: (source, trigger) -> destination, for the transitions that only change the state
        self._plain = self._plain_transitions()

    def _plain_transitions(self) -> dict[tuple[str, str], str]:
        machine = self._machine
        if any((machine.prepare_event, machine.before_state_change, machine.after_state_change,
                machine.finalize_event, machine.on_exception, machine.on_final)):
            return {}
        plain = {}
        for trigger, event in machine.events.items():
            for source, candidates in event.transitions.items():
                if len(candidates) != 1:
                    continue
                (t,) = candidates
                states = (machine.get_state(source), machine.get_state(t.dest)) if t.dest else ()
                if t.dest and not any((t.conditions, t.prepare, t.before, t.after)) and not any(
                    s.on_enter or s.on_exit or s.final for s in states
                ):
                    plain[source, trigger] = t.dest
        return plain

    @staticmethod
    def _edge(t: Any, guards: Mapping[str, Guard], effects: Mapping[str, Effect]) -> dict[str, Any]:
        return {
            "trigger": t.trigger,
            "source": t.source,
            "dest": t.dest,
            "conditions": [_guard_condition(name, guards[name]) for name in t.guards],
            "after": [_effect_callback(effects[name]) for name in t.effects],
        }

    def plain_destination(self, state: str, trigger: str) -> str | None:
        """Where ``trigger`` takes a card in ``state`` if that transition only changes the
        state (no guard, effect or callback); else None (``fire`` it)."""
        return self._plain.get((state, trigger))

    def fire(self, subject: CardSubject, trigger: str) -> str:
        """Fire ``trigger`` on ``subject``; return the new state.

        :raises UnknownTrigger: the lifecycle has no such trigger.
        :raises TransitionNotAllowed: not allowed from the subject's state.
        :raises GuardFailed: a guard refused.
        """
        event = self._machine.events.get(trigger)
        if event is None:
            raise UnknownTrigger(trigger, self.lifecycle.triggers)
        state = subject.state
        try:
            event.trigger(subject)
        except MachineError as err:
            raise TransitionNotAllowed(trigger, state, self.lifecycle.triggers_from(state)) from err
        return subject.state


def _guard_condition(name: str, guard: Guard) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        reason = guard(event.model.context)
        if reason is not None:
            raise GuardFailed(event.event.name, event.state.name, name, reason)
        return True

    return condition


def _effect_callback(effect: Effect) -> Callable[[EventData], None]:
    def callback(event: EventData) -> None:
        effect(event.model.context)

    return callback
