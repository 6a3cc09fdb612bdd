"""Diagrams of a lifecycle: Graphviz dot source (drawn as SVG by Graphviz's ``dot``,
loaded only to draw) or Mermaid, both written from the transition table.

Exceptional states are drawn apart (red), terminal ones with a double border, the
initial state after a start point. Triggers that fire from every active state (die,
move_out) are drawn once, from a dashed box around the active states, not from each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DiagramError
from ..i18n import _
from .definition import Lifecycle, StateSpec

FORMATS = ("mermaid", "dot", "svg")
_FONT = "Helvetica,Arial,sans-serif"
#: (border, fill, text) of a state's box: normal, exceptional, terminal.
_NORMAL = ("#1f5f99", "#e8f1fb", "#102a43")
_EXCEPTIONAL = ("#b3261e", "#fdecea", "#7a1a14")
_TERMINAL = ("#555555", "#eeeeee", "#222222")
_CLUSTER = "cluster_active"


def diagram(lifecycle: Lifecycle, fmt: str = "mermaid", notes: Mapping[str, str] | None = None) -> str:
    """The lifecycle as Mermaid (``stateDiagram-v2``), Graphviz dot source, or SVG.

    Guards are shown in brackets after the trigger, as ``allocate [blank_available]``.

    :param notes: a line to write under a state's name (dot and SVG), as its count of cards.
    :raises ValueError: ``fmt`` is not one of ``FORMATS``.
    :raises DiagramError: SVG was asked for and Graphviz's ``dot`` is not installed.
    """
    if fmt not in FORMATS:
        raise ValueError(
            _("unknown diagram format {fmt!r}; expected one of {formats}").format(fmt=fmt, formats=", ".join(FORMATS))
        )
    if fmt == "mermaid":
        return _mermaid(lifecycle)
    source = _dot(lifecycle, notes or {})
    return _svg(source) if fmt == "svg" else source


def _from_every_active_state(lifecycle: Lifecycle) -> list[str]:
    """The triggers that fire from every non-terminal state, in definition order."""
    active = {n for n, s in lifecycle.states.items() if not s.terminal}
    if len(active) < 2:
        return []
    return [t for t in lifecycle.triggers if set(lifecycle.sources_of(t)) == active]


def _label(trigger: str, guards: tuple[str, ...]) -> str:
    return f"{trigger} [{' & '.join(guards)}]" if guards else trigger


def _edges(lifecycle: Lifecycle) -> dict[tuple[str, str], list[str]]:
    """The labels of the edges between two states, those from every active state left out."""
    everywhere = set(_from_every_active_state(lifecycle))
    edges: dict[tuple[str, str], list[str]] = {}
    for t in lifecycle.transitions:
        label = _label(t.trigger, t.guards)
        if t.trigger not in everywhere and label not in edges.get((t.source, t.dest), []):
            edges.setdefault((t.source, t.dest), []).append(label)
    return edges


def _node(graph: Any, spec: StateSpec, note: str | None) -> None:
    colour, fill, text = _EXCEPTIONAL if spec.exceptional else _TERMINAL if spec.terminal else _NORMAL
    label = spec.name if note is None else f"{spec.name}\\n{note}"
    extra = {"peripheries": "2"} if spec.terminal else {}
    graph.node(spec.name, label=label, color=colour, fillcolor=fill, fontcolor=text, **extra)


def _dot(lifecycle: Lifecycle, notes: Mapping[str, str]) -> str:
    import graphviz  # loaded only to draw: it writes (and quotes) the dot source

    everywhere = _from_every_active_state(lifecycle)
    states = list(lifecycle.states.values())
    active = [s for s in states if not s.terminal]
    graph = graphviz.Digraph(
        "lifecycle",
        graph_attr={
            "rankdir": "TB",
            "compound": "true",
            "nodesep": "0.35",
            "ranksep": "0.45",
            "fontname": _FONT,
            "fontsize": "13",
            "bgcolor": "transparent",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": _FONT,
            "fontsize": "14",
            "penwidth": "1.3",
            "margin": "0.14,0.06",
        },
        edge_attr={"fontname": _FONT, "fontsize": "12", "color": "#444444", "fontcolor": "#222222", "arrowsize": "0.8"},
    )
    graph.node("start", label="", shape="point", width="0.16", color="#222222")
    if everywhere:
        with graph.subgraph(name=_CLUSTER) as box:
            box.attr(
                label=_("every active state (not terminal)"),
                labeljust="l",
                style="dashed,rounded",
                color="#777777",
                fontcolor="#555555",
            )
            for spec in active:
                _node(box, spec, notes.get(spec.name))
    for spec in states:
        if spec.terminal or not everywhere:
            _node(graph, spec, notes.get(spec.name))
    graph.edge("start", lifecycle.initial)
    for (a, b), labels in _edges(lifecycle).items():
        graph.edge(a, b, label="\\n".join(labels))
    tail = _farthest(lifecycle, [s.name for s in active])  # so that what they lead to is drawn below the box
    for trigger in everywhere:
        dest = next(t.dest for t in lifecycle.transitions if t.trigger == trigger)
        graph.edge(tail, dest, label=trigger, ltail=_CLUSTER, style="dashed")
    return str(graph.source)


def _farthest(lifecycle: Lifecycle, states: list[str]) -> str:
    """The one of ``states`` the most transitions away from the initial state."""
    distance = {lifecycle.initial: 0}
    frontier = [lifecycle.initial]
    while frontier:
        state = frontier.pop(0)
        for t in lifecycle.transitions:
            if t.source == state and t.dest not in distance:
                distance[t.dest] = distance[state] + 1
                frontier.append(t.dest)
    return max(states, key=lambda s: distance.get(s, -1))


def _mermaid(lifecycle: Lifecycle) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {lifecycle.initial}"]
    lines += [f"    {a} --> {b}: {' / '.join(labels)}" for (a, b), labels in _edges(lifecycle).items()]
    for trigger in _from_every_active_state(lifecycle):
        dest = next(t.dest for t in lifecycle.transitions if t.trigger == trigger)
        note = _("{trigger} fires from every active state").format(trigger=trigger)
        lines += [f"    {dest}", f"    note left of {dest}: {note}"]
    apart = [s.name for s in lifecycle.states.values() if s.exceptional]
    if apart:
        lines += [f"    classDef exceptional fill:{_EXCEPTIONAL[1]},stroke:{_EXCEPTIONAL[0]}"]
        lines += [f"    class {','.join(apart)} exceptional"]
    return "\n".join(lines)


def _svg(dot_source: str) -> str:
    import graphviz  # loaded only to draw

    try:
        return str(graphviz.Source(dot_source).pipe(format="svg").decode("utf-8"))
    except graphviz.ExecutableNotFound as err:
        raise DiagramError(
            _(
                "drawing SVG needs Graphviz's `dot` program, which is not installed "
                "(Debian/Ubuntu: apt-get install graphviz); --format dot or mermaid work without it"
            )
        ) from err
