"""Diagrams of a lifecycle, drawn by the ``transitions`` diagram extension."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from .definition import Lifecycle

FORMATS = ("mermaid", "dot")


class _Sheet:
    """The single model a diagram machine needs to draw from; never a card."""

    state: str = ""


def diagram(lifecycle: Lifecycle, fmt: str = "mermaid") -> str:
    """The lifecycle as Mermaid (``stateDiagram-v2``) or Graphviz dot source.

    Guards are shown in brackets after the trigger, as ``allocate [blank_available]``.

    :raises ValueError: ``fmt`` is not one of ``FORMATS``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; expected one of {', '.join(FORMATS)}")
    engine = "mermaid" if fmt == "mermaid" else "graphviz"
    sheet = _Sheet()
    GraphMachine(
        model=sheet,
        title=lifecycle.name,
        states=list(lifecycle.states),
        initial=lifecycle.initial,
        transitions=[
            {"trigger": t.trigger, "source": t.source, "dest": t.dest, "conditions": list(t.guards)}
            for t in lifecycle.transitions
        ],
        auto_transitions=False,
        show_conditions=True,
        graph_engine=engine,
    )
    graph = sheet.get_graph()  # type: ignore[attr-defined]
    if fmt == "mermaid":
        return str(graph.draw(None, format="mermaid"))
    return str(graph.source)
