"""The card lifecycle as data: definition, validation, transition table, machine, diagrams."""

from __future__ import annotations

from .definition import (
    ANY_ACTIVE,
    Lifecycle,
    StateSpec,
    TransitionSpec,
    lifecycle_from_dict,
    load_lifecycle,
)
from .diagram import FORMATS as DIAGRAM_FORMATS
from .diagram import diagram
from .machine import CardSubject, CompiledMachine

__all__ = [
    "ANY_ACTIVE",
    "CardSubject",
    "CompiledMachine",
    "DIAGRAM_FORMATS",
    "Lifecycle",
    "StateSpec",
    "TransitionSpec",
    "diagram",
    "lifecycle_from_dict",
    "load_lifecycle",
]
