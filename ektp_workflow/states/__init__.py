"""The card lifecycle as data: definition, validation, transition table, executor, diagrams.

Pure: no SQL, and nothing here loads ``transitions`` or Graphviz until a diagram is drawn.
"""

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
from .executor import Effect, Executor, Guard, Step

__all__ = [
    "ANY_ACTIVE",
    "DIAGRAM_FORMATS",
    "Effect",
    "Executor",
    "Guard",
    "Lifecycle",
    "StateSpec",
    "Step",
    "TransitionSpec",
    "diagram",
    "lifecycle_from_dict",
    "load_lifecycle",
]
