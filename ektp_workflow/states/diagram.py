"""Diagrams of a lifecycle, drawn by the ``transitions`` diagram extension (loaded only to draw)."""

from __future__ import annotations

from typing import Literal

from ..errors import DiagramError
from .definition import Lifecycle

FORMATS = ("mermaid", "dot", "svg")
#: Stands in the drawing for every non-terminal state, so that triggers allowed from
#: all of them (die, move_out) are drawn once instead of from each state.
ANY_STATE = "any_active_state"


class _Sheet:
    """The single model a diagram machine needs to draw from; never a card."""

    state: str = ""


def diagram(lifecycle: Lifecycle, fmt: str = "mermaid") -> str:
    """The lifecycle as Mermaid (``stateDiagram-v2``), Graphviz dot source, or SVG.

    Guards are shown in brackets after the trigger, as ``allocate [blank_available]``.

    :raises ValueError: ``fmt`` is not one of ``FORMATS``.
    :raises DiagramError: SVG was asked for and Graphviz's ``dot`` is not installed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "svg":
        return _svg(diagram(lifecycle, "dot"))
    from transitions.extensions import GraphMachine  # loaded only to draw

    engine: Literal["mermaid", "graphviz"] = "mermaid" if fmt == "mermaid" else "graphviz"
    sheet = _Sheet()
    everywhere = _from_every_active_state(lifecycle)
    edges = [
        {
            "trigger": t.trigger,
            "source": ANY_STATE if t.trigger in everywhere else t.source,
            "dest": t.dest,
            "conditions": list(t.guards),
        }
        for t in lifecycle.transitions
    ]
    unique = list({(e["trigger"], e["source"]): e for e in edges}.values())
    GraphMachine(
        model=sheet,
        title=lifecycle.name,
        states=list(lifecycle.states) + ([ANY_STATE] if everywhere else []),
        initial=lifecycle.initial,
        transitions=unique,
        auto_transitions=False,
        show_conditions=True,
        graph_engine=engine,
    )
    graph = sheet.get_graph()  # type: ignore[attr-defined]
    if fmt == "mermaid":
        return str(graph.draw(None, format="mermaid"))
    return str(graph.source)


def _from_every_active_state(lifecycle: Lifecycle) -> set[str]:
    active = {n for n, s in lifecycle.states.items() if not s.terminal}
    return {t for t in lifecycle.triggers if set(lifecycle.sources_of(t)) == active}


def _svg(dot_source: str) -> str:
    import graphviz  # loaded only to draw

    try:
        return str(graphviz.Source(dot_source).pipe(format="svg").decode("utf-8"))
    except graphviz.ExecutableNotFound as err:
        raise DiagramError(
            "drawing SVG needs Graphviz's `dot` program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz); --format dot or mermaid work without it"
        ) from err
